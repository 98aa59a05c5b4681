/**
 * The drift job's numeric reference: a uniform random sample of a feature's real training values, stored in the
 * baseline profile, so the job's KS test compares the window with real data (ties, atoms and tails as they were)
 * instead of values redrawn from percentiles, which misplace up to 1 % of the mass at every jump of a discrete
 * feature: enough for KS to reject same-distribution windows of tens of thousands of rows.
 *
 * Sampling: reservoir sampling (Algorithm R) of up to {@link MAX_SAMPLE_SIZE} non-missing values with a seeded
 * generator, then a seeded shuffle, so every prefix of the stored order is itself a uniform sample (which is how a
 * sample is shrunk to fit the size budget).
 *
 * Encoding (`f64-runs-deflate-base64`): the sorted values as runs (distinct value as a little-endian float64, then
 * its count as an unsigned LEB128 varint), deflated (raw deflate) and base64-encoded. A discrete feature costs a few
 * bytes per distinct value; a continuous one about 9–10 bytes per value. The metadata lives in a DynamoDB item
 * (400 KB at most), so all the samples of a version together are kept under {@link SAMPLE_BUDGET_BYTES}: while they are
 * over it, the largest is halved.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { Reservoir, SeededRandom } from '#core/data/random.ts';

/** Most values kept per feature. */
export const MAX_SAMPLE_SIZE = 10_000;
/** Most base64 characters of all the samples of one version together. */
export const SAMPLE_BUDGET_BYTES = 128 * 1024;
export const SAMPLE_ENCODING = 'f64-runs-deflate-base64';

/** A stored sample: its size, its encoding and the encoded values. */
export interface EncodedSample {
  readonly size: number;
  readonly encoding: typeof SAMPLE_ENCODING;
  readonly data: string;
}

/** Up to `size` of `values`, uniformly at random without replacement, in random order (every prefix uniform too). */
export function reservoirSample(values: readonly number[], size: number, seed: number): number[] {
  const random = new SeededRandom(seed);
  const reservoir = new Reservoir<number>(size, random);
  for (const value of values) reservoir.offer(value);
  return random.shuffle(reservoir.items);
}

function writeVarint(out: number[], value: number): void {
  let v = value;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

/** Encodes a sample (any order: the encoding sorts it). */
export function encodeSample(values: readonly number[]): EncodedSample {
  const sorted = Float64Array.from(values).sort();
  const bytes: number[] = [];
  const scratch = new DataView(new ArrayBuffer(8));
  for (let i = 0; i < sorted.length; ) {
    const value = sorted[i] as number;
    let run = 1;
    while (i + run < sorted.length && sorted[i + run] === value) run++;
    scratch.setFloat64(0, value, true);
    for (let b = 0; b < 8; b++) bytes.push(scratch.getUint8(b));
    writeVarint(bytes, run);
    i += run;
  }
  return { size: sorted.length, encoding: SAMPLE_ENCODING, data: deflateRawSync(Uint8Array.from(bytes)).toString('base64') };
}

/**
 * Decodes a stored sample into ascending values.
 * @throws RangeError on an unknown encoding or bytes that do not decode to `size` values.
 */
export function decodeSample(sample: EncodedSample): number[] {
  if (sample.encoding !== SAMPLE_ENCODING) throw new RangeError(`unknown sample encoding ${JSON.stringify(sample.encoding)}`);
  const bytes = inflateRawSync(Buffer.from(sample.data, 'base64'));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (offset + 8 > bytes.length) throw new RangeError('sample bytes end inside a value');
    const value = view.getFloat64(offset, true);
    offset += 8;
    let run = 0;
    let scale = 1;
    for (;;) {
      if (offset >= bytes.length) throw new RangeError('sample bytes end inside a count');
      const byte = bytes[offset++] as number;
      run += (byte & 0x7f) * scale;
      scale *= 128;
      if (byte < 0x80) break;
    }
    for (let k = 0; k < run; k++) out.push(value);
  }
  if (out.length !== sample.size) throw new RangeError(`sample decodes to ${out.length} values, not ${sample.size}`);
  return out;
}

/**
 * The stored samples of several features (each a random-order reservoir), shrunk until they fit the budget together:
 * the largest encoded sample is cut to its first half (still a uniform sample) until the total fits.
 */
export function encodeSamples(samples: Readonly<Record<string, readonly number[]>>, budget = SAMPLE_BUDGET_BYTES): Record<string, EncodedSample> {
  const kept: Record<string, readonly number[]> = { ...samples };
  const encoded: Record<string, EncodedSample> = {};
  for (const [name, values] of Object.entries(kept)) encoded[name] = encodeSample(values);
  const total = (): number => Object.values(encoded).reduce((sum, e) => sum + e.data.length, 0);
  while (total() > budget) {
    const [largest] = Object.entries(encoded).sort((a, b) => b[1].data.length - a[1].data.length)[0] as [string, EncodedSample];
    const values = kept[largest] as readonly number[];
    if (values.length <= 1) break;
    kept[largest] = values.slice(0, Math.ceil(values.length / 2));
    encoded[largest] = encodeSample(kept[largest]);
  }
  return encoded;
}
