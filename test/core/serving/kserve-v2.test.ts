import { describe, expect, it } from 'vitest';
import { KServeFormatError, kserveRequest, probabilitiesFromResponse, readRequestInput } from '#core/serving/kserve-v2.ts';

describe('KServe v2 JSON', () => {
  it('round-trips float32 rows exactly through JSON', () => {
    const input = Float32Array.from([0.1, 1 / 3, -2.5e-8, 123456.789, 0, 7]);
    const request = JSON.parse(JSON.stringify(kserveRequest('features', input, 2, 3, 'probability'))) as unknown;
    const read = readRequestInput(request);
    expect(read).toMatchObject({ name: 'features', rows: 2, columns: 3, outputNames: ['probability'] });
    expect(read.data).toEqual(input);
  });

  it('reads probabilities back as the same float32 values', () => {
    const probabilities = Float32Array.from([0.35928353667259216, 0.9]);
    const body = JSON.parse(JSON.stringify({ outputs: [{ name: 'probability', datatype: 'FP32', shape: [2, 1], data: Array.from(probabilities) }] })) as unknown;
    expect(probabilitiesFromResponse(body, 'probability', 2)).toEqual(probabilities);
  });

  it.each([
    [{}, 'the request has no "inputs" array'],
    [{ inputs: [] }, 'the request must have exactly one input, got 0'],
    [{ inputs: [{ name: 'x', datatype: 'INT64', shape: [1, 1], data: [1] }] }, 'input "x" must be FP32, got INT64'],
    [{ inputs: [{ name: 'x', datatype: 'FP32', shape: [2], data: [1, 2] }] }, 'input "x" must have shape [rows, columns], got [2]'],
    [{ inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 2], data: [1, 2, 3] }] }, 'input "x" has 3 values for shape [2, 2]'],
    [{ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: [null] }] }, 'input "x" data[0] is not a finite number'],
  ])('refuses the request %j', (body, message) => {
    expect(() => readRequestInput(body)).toThrow(new KServeFormatError(message));
  });
});
