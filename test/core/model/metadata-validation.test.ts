import { beforeAll, describe, expect, it } from 'vitest';
import { RequestValidationError } from '#core/errors.ts';
import type { ModelMetadata } from '#core/model/metadata.ts';
import { parseModelMetadata } from '#core/model/metadata-validation.ts';
import { trainCreditModel } from '../../../examples/credit/train.ts';

let credit: ModelMetadata;

beforeAll(async () => {
  ({ metadata: credit } = await trainCreditModel());
});

const REMOVE = Symbol('remove');
type Path = readonly (string | number)[];

/** A deep copy of the credit metadata (as parsed JSON) with the value at `path` replaced or removed. */
function broken(path: Path, value: unknown): unknown {
  const copy: unknown = JSON.parse(JSON.stringify(credit));
  let node = copy as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  if (value === REMOVE && Array.isArray(node)) node.splice(last as number, 1);
  else if (value === REMOVE) Reflect.deleteProperty(node, last);
  else node[last] = value;
  return copy;
}

function failure(raw: unknown): RequestValidationError {
  try {
    parseModelMetadata(raw);
  } catch (error) {
    if (error instanceof RequestValidationError) return error;
    throw error;
  }
  throw new Error('expected parseModelMetadata to throw');
}

describe('parseModelMetadata', () => {
  it('accepts the credit metadata and returns an equal copy', () => {
    const parsed = parseModelMetadata(JSON.parse(JSON.stringify(credit)));
    expect(parsed).toEqual(credit);
    expect(parsed).not.toBe(credit);
  });

  it('drops fields the contract does not know', () => {
    const raw = broken(['output', 'extra'], 'ignored') as Record<string, unknown>;
    raw['notes'] = 'hello';
    const parsed = parseModelMetadata(raw);
    expect(parsed).toEqual(credit);
    expect(Object.keys(parsed.output).sort()).toEqual(['negative_label', 'positive_label', 'threshold', 'threshold_selection']);
    expect('notes' in parsed).toBe(false);
  });

  it('refuses a value that is not an object', () => {
    for (const raw of [null, 'metadata', [credit], 3]) {
      const error = failure(raw);
      expect(error.code).toBe('INVALID_METADATA');
      expect(error.status).toBe(400);
      expect(error.message).toMatch(/^metadata must be a json object/i);
    }
  });

  // [what breaks, path, new value (or REMOVE), field named, message]
  const breakages: [string, Path, unknown, string, RegExp][] = [
    ['a missing algorithm', ['algorithm'], REMOVE, 'algorithm', /^metadata\.algorithm is missing$/],
    ['a missing input schema', ['input_schema'], REMOVE, 'input_schema', /^metadata\.input_schema is missing$/],
    ['no features', ['input_schema', 'features'], [], 'input_schema.features', /must not be empty/],
    ['a repeated feature name', ['input_schema', 'features', 2, 'name'], 'Seniority', 'input_schema.features[2].name', /repeats the feature name "Seniority"/],
    ['a feature of unknown type', ['input_schema', 'features', 0, 'type'], 'text', 'input_schema.features[0].type', /must be "numeric" or "categorical", got "text"/],
    ['a feature without nullable', ['input_schema', 'features', 0, 'nullable'], REMOVE, 'input_schema.features[0].nullable', /is missing/],
    ['a categorical feature with no categories', ['input_schema', 'features', 1, 'categories'], [], 'input_schema.features[1].categories', /must not be empty/],
    ['repeated categories', ['input_schema', 'features', 1, 'categories', 1], 'ignore', 'input_schema.features[1].categories', /lists "ignore" more than once/],
    ['a feature with no encoding', ['preprocessing', 'encodings', 0], REMOVE, 'preprocessing.encodings', /no encoding for the input_schema feature\(s\) "Seniority"/],
    ['an encoding of an unknown feature', ['preprocessing', 'encodings', 0, 'feature'], 'Salary', 'preprocessing.encodings[0].feature', /"Salary", which is not a feature of input_schema/],
    ['one-hot categories that differ from the schema', ['preprocessing', 'encodings', 1, 'categories'], ['owner', 'rent'], 'preprocessing.encodings[1].categories', /must equal the categories of input_schema feature "Home"/],
    ['a numeric encoding of a categorical feature', ['preprocessing', 'encodings', 1, 'kind'], 'numeric', 'preprocessing.encodings[1].kind', /must be "one_hot" for the categorical feature "Home"/],
    ['a non-numeric numeric impute', ['preprocessing', 'encodings', 0, 'impute'], 'median', 'preprocessing.encodings[0].impute', /must be a finite number, got "median"/],
    ['a one-hot impute outside the categories', ['preprocessing', 'encodings', 1, 'impute'], 'castle', 'preprocessing.encodings[1].impute', /must be null or one of the categories/],
    ['a wrong column count', ['preprocessing', 'columns'], 25, 'preprocessing.columns', /is 25 but the encodings produce 26 columns/],
    ['a missing input name', ['preprocessing', 'input_name'], '', 'preprocessing.input_name', /must be a non-empty string/],
    ['equal labels', ['output', 'negative_label'], 'bad', 'output.negative_label', /must differ from output\.positive_label/],
    ['a threshold of 1', ['output', 'threshold'], 1, 'output.threshold', /must be between 0 and 1 \(exclusive\), got 1/],
    ['a metric that is not a number', ['metrics', 'roc_auc'], 'high', 'metrics.roc_auc', /must be a finite number, got "high"/],
    ['a feature without a baseline profile', ['baseline', 'Home'], REMOVE, 'baseline.Home', /is missing: every input_schema feature needs a profile/],
    ['a baseline profile of the wrong type', ['baseline', 'Age', 'type'], 'categorical', 'baseline.Age.type', /must be "numeric" like the input_schema feature/],
    ['a stored sample that does not decode to its size', ['baseline', 'Age', 'sample', 'size'], 5, 'baseline.Age.sample.data', /does not decode: sample decodes to \d+ values, not 5/],
    ['a stored sample of an unknown encoding', ['baseline', 'Age', 'sample', 'encoding'], 'csv', 'baseline.Age.sample.encoding', /must be "f64-runs-deflate-base64", got "csv"/],
    ['a missing lineage field', ['lineage', 'trainer'], REMOVE, 'lineage.trainer', /^metadata\.lineage\.trainer is missing$/],
    ['a lineage parameter that is an object', ['lineage', 'parameters', 'l2'], { value: 1 }, 'lineage.parameters.l2', /must be a finite number, a string or a boolean/],
  ];

  it.each(breakages)('refuses %s, naming the field', (_what, path, value, field, message) => {
    const error = failure(broken(path, value));
    expect(error.code).toBe('INVALID_METADATA');
    expect(error.details).toEqual({ field });
    expect(error.message).toContain(`metadata.${field}`);
    expect(error.message).toMatch(message);
    expect(error.message.slice(0, 'metadata.'.length)).toBe('metadata.');
  });

  it('accepts a numeric impute of null: missing values reach the model as NaN (tree models route them)', () => {
    const parsed = parseModelMetadata(broken(['preprocessing', 'encodings', 0, 'impute'], null));
    expect(parsed.preprocessing.encodings[0]).toMatchObject({ kind: 'numeric', impute: null });
  });
});
