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

/** The KServeFormatError `action` throws (its class and name checked). */
function formatError(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(KServeFormatError);
    expect((error as Error).name).toBe('KServeFormatError');
    return (error as Error).message;
  }
  throw new Error('expected a KServeFormatError');
}

const input = (fields: Record<string, unknown>): unknown => ({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2], ...fields }] });

describe('readRequestInput', () => {
  it.each([
    ['a body that is an array', [{ inputs: [] }], 'the request has no "inputs" array'],
    ['null', null, 'the request has no "inputs" array'],
    ['inputs that are an object', { inputs: { name: 'x' } }, 'the request has no "inputs" array'],
    ['two inputs', { inputs: [{ name: 'x' }, { name: 'y' }] }, 'the request must have exactly one input, got 2'],
    ['an input that is an array', { inputs: [['x']] }, 'the request must have exactly one input, got 1'],
    ['an input that is null', { inputs: [null] }, 'the request must have exactly one input, got 1'],
    ['an input without a name', input({ name: undefined }), 'the input has no name'],
    ['an input with an empty name', input({ name: '' }), 'the input has no name'],
    ['an input with a numeric name', input({ name: 7 }), 'the input has no name'],
    ['an FP64 input', input({ datatype: 'FP64' }), 'input "x" must be FP32, got FP64'],
    ['a shape that is not an array', input({ shape: '1,2' }), 'input "x" shape must be an array of non-negative integers'],
    ['a negative dimension', input({ shape: [-1, 2] }), 'input "x" shape must be an array of non-negative integers'],
    ['a fractional dimension', input({ shape: [1.5, 2] }), 'input "x" shape must be an array of non-negative integers'],
    ['a dimension as a string', input({ shape: ['1', 2] }), 'input "x" shape must be an array of non-negative integers'],
    ['a dimension that is not a number', input({ shape: [1, Number.NaN] }), 'input "x" shape must be an array of non-negative integers'],
    ['a shape of three dimensions', input({ shape: [1, 2, 1] }), 'input "x" must have shape [rows, columns], got [1, 2, 1]'],
    ['an empty shape', input({ shape: [] }), 'input "x" must have shape [rows, columns], got []'],
    ['a shape of one dimension', input({ shape: [2] }), 'input "x" must have shape [rows, columns], got [2]'],
    ['data that is not an array', input({ data: { 0: 1 } }), 'input "x" data must be an array'],
    ['a value that is a string', input({ data: [1, '2'] }), 'input "x" data[1] is not a finite number'],
    ['a value beyond float64', input({ data: [1, Number.POSITIVE_INFINITY] }), 'input "x" data[1] is not a finite number'],
    ['too many values', input({ data: [1, 2, 3] }), 'input "x" has 3 values for shape [1, 2]'],
  ])('refuses %s', (_what, body, message) => {
    expect(formatError(() => readRequestInput(body))).toBe(message);
  });

  it('accepts zero rows, nested data, and reads only named outputs', () => {
    expect(readRequestInput({ inputs: [{ name: 'x', datatype: 'FP32', shape: [0, 3], data: [] }] })).toEqual({ name: 'x', rows: 0, columns: 3, data: new Float32Array(0), outputNames: [] });
    const read = readRequestInput({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 2], data: [[1, 2], [3, [4]]] }],
      outputs: [{ name: 'p' }, ['q'], null, { name: 3 }, { id: 'r' }, { name: 'z' }],
    });
    expect(read).toEqual({ name: 'x', rows: 2, columns: 2, data: Float32Array.from([1, 2, 3, 4]), outputNames: ['p', 'z'] });
    expect(readRequestInput({ ...(input({}) as object), outputs: 'p' }).outputNames).toEqual([]);
  });

  it('rounds each value to float32, as the model reads it', () => {
    expect(readRequestInput(input({ data: [0.1, 1e-50] })).data).toEqual(Float32Array.from([Math.fround(0.1), 0]));
  });
});

describe('probabilitiesFromResponse', () => {
  const output = (fields: Record<string, unknown>): unknown => ({ outputs: [{ name: 'probability', datatype: 'FP32', shape: [2, 1], data: [0.25, 0.5], ...fields }] });

  it.each([
    ['a body that is an array', [], 'the response has no "outputs" array'],
    ['a body that is a string', 'error', 'the response has no "outputs" array'],
    ['outputs that are an object', { outputs: { name: 'probability' } }, 'the response has no "outputs" array'],
    ['no output of that name', { outputs: [{ name: 'label', datatype: 'FP32', data: [1, 0] }] }, 'the response has no output "probability"'],
    ['an output that is an array', { outputs: [['probability']] }, 'the response has no output "probability"'],
    ['an INT64 output', output({ datatype: 'INT64' }), 'output "probability" must be FP32, got INT64'],
    ['an output without a datatype', output({ datatype: undefined }), 'output "probability" must be FP32, got undefined'],
    ['data that is not an array', output({ data: 0.25 }), 'output "probability" data must be an array'],
    ['a null probability', output({ data: [0.25, null] }), 'output "probability" data[1] is not a finite number'],
    ['a probability as a string', output({ data: ['0.25', 0.5] }), 'output "probability" data[0] is not a finite number'],
    ['one value for two rows', output({ data: [0.25] }), 'output "probability" has 1 values for 2 rows'],
    ['three values for two rows', output({ data: [0.25, 0.5, 0.75] }), 'output "probability" has 3 values for 2 rows'],
  ])('refuses %s', (_what, body, message) => {
    expect(formatError(() => probabilitiesFromResponse(body, 'probability', 2))).toBe(message);
  });

  it('takes the named output among others, FP64 or nested, as float32', () => {
    const body = {
      model_name: 'credit',
      outputs: [
        { name: 'label', datatype: 'INT64', shape: [2, 1], data: [1, 0] },
        { name: 'probability', datatype: 'FP64', shape: [2, 1], data: [[0.1], [0.7]] },
      ],
    };
    expect(probabilitiesFromResponse(body, 'probability', 2)).toEqual(Float32Array.from([0.1, 0.7]));
  });
});
