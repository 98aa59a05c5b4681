import { gunzipSync } from 'node:zlib';

/**
 * Reads the regular files of a (gzipped) tar archive, as SageMaker packs a training job's
 * /opt/ml/model into model.tar.gz. Only what that needs: ustar headers, regular files,
 * names with a leading "./" trimmed.
 */
export function extractTarEntries(archive: Uint8Array): Map<string, Uint8Array> {
  const isGzip = archive[0] === 0x1f && archive[1] === 0x8b;
  const tar = isGzip ? new Uint8Array(gunzipSync(archive)) : archive;
  const decoder = new TextDecoder();
  const field = (offset: number, length: number): string => decoder.decode(tar.subarray(offset, offset + length)).replace(/\0.*$/s, '');
  const entries = new Map<string, Uint8Array>();
  let offset = 0;
  while (offset + 512 <= tar.length) {
    const name = field(offset, 100);
    if (name === '') break;
    const prefix = field(offset + 345, 155);
    const size = Number.parseInt(field(offset + 124, 12).trim() || '0', 8);
    const type = field(offset + 156, 1);
    const dataStart = offset + 512;
    if (type === '' || type === '0') {
      const fullName = (prefix === '' ? name : `${prefix}/${name}`).replace(/^\.\//, '');
      entries.set(fullName, tar.slice(dataStart, dataStart + size));
    }
    offset = dataStart + Math.ceil(size / 512) * 512;
  }
  return entries;
}

/** One entry to write: a directory when its name ends in "/", a regular file otherwise. */
export interface TarEntry {
  readonly name: string;
  readonly bytes?: Uint8Array;
}

/**
 * Writes an uncompressed ustar archive (gzip it with node:zlib for a `model.tar.gz`). Entries keep their order;
 * mode 0644 (files) or 0755 (directories), owner 0 and mtime 0, so the same entries always give the same bytes.
 */
export function writeTarArchive(entries: readonly TarEntry[]): Uint8Array {
  const encoder = new TextEncoder();
  const blocks: Uint8Array[] = [];
  for (const entry of entries) {
    const isDirectory = entry.name.endsWith('/');
    const bytes = isDirectory ? new Uint8Array(0) : (entry.bytes ?? new Uint8Array(0));
    const name = encoder.encode(entry.name);
    if (name.length > 100) throw new RangeError(`tar entry name "${entry.name}" is longer than 100 bytes`);
    const header = new Uint8Array(512);
    const put = (offset: number, text: string): void => header.set(encoder.encode(text), offset);
    const octal = (value: number, width: number): string => `${value.toString(8).padStart(width - 1, '0')}\0`;
    header.set(name, 0);
    put(100, octal(isDirectory ? 0o755 : 0o644, 8));
    put(108, octal(0, 8));
    put(116, octal(0, 8));
    put(124, octal(bytes.length, 12));
    put(136, octal(0, 12));
    put(148, '        '); // the checksum is computed with its own field as spaces
    put(156, isDirectory ? '5' : '0');
    put(257, 'ustar\0');
    put(263, '00');
    const checksum = header.reduce((sum, byte) => sum + byte, 0);
    put(148, `${checksum.toString(8).padStart(6, '0')}\0 `);
    blocks.push(header);
    if (bytes.length > 0) {
      const padded = new Uint8Array(Math.ceil(bytes.length / 512) * 512);
      padded.set(bytes);
      blocks.push(padded);
    }
  }
  blocks.push(new Uint8Array(1024)); // two zero blocks end the archive
  const total = blocks.reduce((sum, block) => sum + block.length, 0);
  const archive = new Uint8Array(total);
  let offset = 0;
  for (const block of blocks) {
    archive.set(block, offset);
    offset += block.length;
  }
  return archive;
}
