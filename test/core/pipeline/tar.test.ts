import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { extractTarEntries, writeTarArchive } from '#core/pipeline/tar.ts';

/** The ustar reader and writer the pipeline and the SageMaker packaging use, byte by byte where the format is fixed. */

const text = (bytes: Uint8Array | undefined): string => new TextDecoder().decode(bytes);
const field = (block: Uint8Array, offset: number, length: number): string => text(block.subarray(offset, offset + length));

describe('writeTarArchive', () => {
  it('writes a ustar header per entry, the bytes padded to 512, and two zero blocks', () => {
    const body = new TextEncoder().encode('x'.repeat(513));
    const archive = writeTarArchive([{ name: 'model/' }, { name: 'model/config.pbtxt', bytes: body }, { name: 'empty.txt' }]);
    // Headers: 3 × 512; data: 1024 (513 padded); end: 1024.
    expect(archive.length).toBe(3 * 512 + 1024 + 1024);
    const directory = archive.subarray(0, 512);
    expect(field(directory, 0, 7)).toBe('model/\0');
    expect(field(directory, 100, 8)).toBe('0000755\0');
    expect(field(directory, 108, 8)).toBe('0000000\0');
    expect(field(directory, 116, 8)).toBe('0000000\0');
    expect(field(directory, 124, 12)).toBe('00000000000\0');
    expect(field(directory, 136, 12)).toBe('00000000000\0');
    expect(field(directory, 156, 1)).toBe('5');
    expect(field(directory, 257, 8)).toBe('ustar\u000000');
    const file = archive.subarray(512, 1024);
    expect(field(file, 100, 8)).toBe('0000644\0');
    expect(field(file, 124, 12)).toBe('00000001001\0');
    expect(field(file, 156, 1)).toBe('0');
    expect(text(archive.subarray(1024, 1024 + 513))).toBe('x'.repeat(513));
    expect(archive.subarray(1024 + 513, 2048).every((b) => b === 0)).toBe(true);
    expect(field(archive.subarray(2048, 2560), 124, 12)).toBe('00000000000\0');
    expect(archive.subarray(2560).every((b) => b === 0)).toBe(true);
  });

  it('writes each header’s checksum: the sum of its bytes with the checksum field as spaces, six octal digits, NUL, space', () => {
    const archive = writeTarArchive([{ name: 'a.bin', bytes: new Uint8Array([1, 2, 3]) }]);
    const header = archive.slice(0, 512);
    const recorded = field(header, 148, 8);
    expect(recorded).toMatch(/^[0-7]{6}\0 $/);
    header.fill(0x20, 148, 156);
    expect(Number.parseInt(recorded.slice(0, 6), 8)).toBe(header.reduce((sum, b) => sum + b, 0));
  });

  it('gives the same bytes for the same entries, and takes a file without bytes as empty', () => {
    const entries = [{ name: 'b' }, { name: 'a', bytes: new Uint8Array([9]) }];
    expect(writeTarArchive(entries)).toEqual(writeTarArchive(entries));
    expect(extractTarEntries(writeTarArchive([{ name: 'b' }])).get('b')).toEqual(new Uint8Array(0));
    // A directory carries no bytes even when given some.
    expect(writeTarArchive([{ name: 'd/', bytes: new Uint8Array([1]) }]).length).toBe(512 + 1024);
  });

  it('accepts a name of 100 bytes and refuses a longer one', () => {
    expect(extractTarEntries(writeTarArchive([{ name: 'n'.repeat(100), bytes: new Uint8Array([1]) }])).has('n'.repeat(100))).toBe(true);
    expect(() => writeTarArchive([{ name: `${'é'.repeat(50)}x` }])).toThrow(`tar entry name "${'é'.repeat(50)}x" is longer than 100 bytes`);
  });

  it('writes no data block for an empty file', () => {
    expect(writeTarArchive([{ name: 'e', bytes: new Uint8Array(0) }]).length).toBe(512 + 1024);
  });

  it('writes an empty archive as the two end blocks', () => {
    expect(writeTarArchive([])).toEqual(new Uint8Array(1024));
  });
});

describe('extractTarEntries', () => {
  function header(name: string, size: number, type: string, prefix = ''): Uint8Array {
    const block = new Uint8Array(512);
    block.set(new TextEncoder().encode(name));
    block.set(new TextEncoder().encode(`${size.toString(8).padStart(11, '0')}\0`), 124);
    block.set(new TextEncoder().encode(type), 156);
    block.set(new TextEncoder().encode(prefix), 345);
    return block;
  }
  function concat(...parts: Uint8Array[]): Uint8Array {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const part of parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }
  const padded = (bytes: Uint8Array): Uint8Array => {
    const out = new Uint8Array(Math.ceil(bytes.length / 512) * 512);
    out.set(bytes);
    return out;
  };

  it('reads regular files of a plain or gzipped archive, trimming a leading ./ and joining the ustar prefix', () => {
    const one = new TextEncoder().encode('one');
    const big = new Uint8Array(1030).fill(7);
    const archive = concat(
      header('./model.onnx', one.length, '0'),
      padded(one),
      header('dir/', 0, '5'),
      header('weights.bin', big.length, '', 'models/1'),
      padded(big),
      new Uint8Array(1024),
    );
    for (const bytes of [archive, new Uint8Array(gzipSync(archive))]) {
      const entries = extractTarEntries(bytes);
      expect([...entries.keys()]).toEqual(['model.onnx', 'models/1/weights.bin']);
      expect(text(entries.get('model.onnx'))).toBe('one');
      expect(entries.get('models/1/weights.bin')).toEqual(big);
    }
  });

  it('skips links and other entry types with their data, and stops at the first empty header', () => {
    const data = new TextEncoder().encode('link target data');
    const archive = concat(
      header('link', data.length, '2'),
      padded(data),
      header('kept.txt', 1, '0'),
      padded(new Uint8Array([65])),
      new Uint8Array(512),
      header('after-the-end.txt', 1, '0'),
      padded(new Uint8Array([66])),
    );
    expect([...extractTarEntries(archive).keys()]).toEqual(['kept.txt']);
  });

  it('reads a header with a blank size as empty, and ignores a trailing partial block', () => {
    const block = header('blank.txt', 0, '0');
    block.fill(0x20, 124, 136);
    const archive = concat(block, header('next.txt', 2, '0'), padded(new Uint8Array([1, 2])), new Uint8Array(100));
    const entries = extractTarEntries(archive);
    expect(entries.get('blank.txt')).toEqual(new Uint8Array(0));
    expect(entries.get('next.txt')).toEqual(new Uint8Array([1, 2]));
  });

  it('takes bytes that start like gzip only when both magic bytes are there', () => {
    // 0x1f alone is a file name's first byte, not gzip.
    const archive = concat(header('\u001fodd', 1, '0'), padded(new Uint8Array([5])), new Uint8Array(1024));
    expect([...extractTarEntries(archive).keys()]).toEqual(['\u001fodd']);
    // Nor is 0x8b alone in second place: "ċ" is 0xc4 0x8b in UTF-8.
    const second = concat(header('ċ.txt', 1, '0'), padded(new Uint8Array([6])), new Uint8Array(1024));
    expect(second[1]).toBe(0x8b);
    expect([...extractTarEntries(second).keys()]).toEqual(['ċ.txt']);
  });

  it('trims only a leading ./ and keeps a name with ./ inside', () => {
    const archive = concat(header('a/./b.txt', 1, '0'), padded(new Uint8Array([1])), new Uint8Array(1024));
    expect([...extractTarEntries(archive).keys()]).toEqual(['a/./b.txt']);
  });

  it('reads the name up to its first NUL, ignoring bytes after it', () => {
    const block = header('short.txt', 1, '0');
    block.set(new TextEncoder().encode('junk'), 20);
    const archive = concat(block, padded(new Uint8Array([1])), new Uint8Array(1024));
    expect([...extractTarEntries(archive).keys()]).toEqual(['short.txt']);
  });

  it('reads an archive of one header and nothing else, and ignores a partial block of junk after a file', () => {
    expect(extractTarEntries(header('only.txt', 0, '0')).get('only.txt')).toEqual(new Uint8Array(0));
    const junk = new Uint8Array(100).fill(0x78);
    const archive = concat(header('kept.txt', 1, '0'), padded(new Uint8Array([1])), junk);
    expect([...extractTarEntries(archive).keys()]).toEqual(['kept.txt']);
  });

  it('reads an archive that ends right after its last file, without end blocks', () => {
    const archive = concat(header('last.txt', 2, '0'), padded(new Uint8Array([3, 4])));
    expect(extractTarEntries(archive).get('last.txt')).toEqual(new Uint8Array([3, 4]));
  });
});

