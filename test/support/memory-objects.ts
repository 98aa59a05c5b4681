import type { ObjectStore } from '#core/pipeline/ports.ts';

/** The pipeline's object store in memory: what the steps read and write, with their content types, for assertions. */
export class MemoryObjects implements ObjectStore {
  readonly objects = new Map<string, Uint8Array>();
  readonly contentTypes = new Map<string, string>();
  /** Every key written, in order, rewrites included. */
  readonly puts: string[] = [];

  async getBytes(key: string): Promise<Uint8Array> {
    const bytes = this.objects.get(key);
    if (bytes === undefined) throw new Error(`no object ${key}`);
    return bytes;
  }

  async getBytesIfExists(key: string): Promise<Uint8Array | undefined> {
    return this.objects.get(key);
  }

  async putBytes(key: string, bytes: Uint8Array, contentType: string): Promise<void> {
    this.objects.set(key, bytes);
    this.contentTypes.set(key, contentType);
    this.puts.push(key);
  }

  text(key: string): string {
    return new TextDecoder().decode(this.objects.get(key));
  }

  json(key: string): unknown {
    return JSON.parse(this.text(key));
  }
}
