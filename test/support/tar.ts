/**
 * A ustar archive of regular files, as `tar` writes them (what SageMaker packs /opt/ml/model into, before gzip): a
 * 512-byte header per file (name, octal size, type '0'), the bytes padded to 512, two empty blocks at the end.
 */
export function tarArchive(files: Readonly<Record<string, Uint8Array>>): Uint8Array {
  const blocks: Uint8Array[] = [];
  for (const [name, bytes] of Object.entries(files)) {
    const header = new Uint8Array(512);
    header.set(new TextEncoder().encode(name));
    header.set(new TextEncoder().encode(`${bytes.length.toString(8).padStart(11, '0')}\0`), 124);
    header.set(new TextEncoder().encode('0'), 156);
    const body = new Uint8Array(Math.ceil(bytes.length / 512) * 512);
    body.set(bytes);
    blocks.push(header, body);
  }
  blocks.push(new Uint8Array(1024));
  const out = new Uint8Array(blocks.reduce((sum, block) => sum + block.length, 0));
  let offset = 0;
  for (const block of blocks) {
    out.set(block, offset);
    offset += block.length;
  }
  return out;
}
