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
