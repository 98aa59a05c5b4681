import { describe, expect, it } from 'vitest';
import { MODEL_NAME_PATTERN, artifactKey, sagemakerPackageKey, servingTargetOf } from '#core/registry/records.ts';

/** The registry's naming rules and keys. */
describe('registry records', () => {
  it('accepts model names of 1 to 63 lower-case letters, digits, "-" and "_" starting with a letter or digit, whole', () => {
    for (const name of ['a', '9', 'credit_v2-eu', `m${'x'.repeat(62)}`]) expect(MODEL_NAME_PATTERN.test(name)).toBe(true);
    for (const name of ['', '_a', '-a', 'Credit', 'credit model', 'credit/1', `m${'x'.repeat(63)}`, 'credit\n']) {
      expect(MODEL_NAME_PATTERN.test(name)).toBe(false);
    }
  });

  it('keys artifacts by content and SageMaker packages by version', () => {
    expect(artifactKey('credit', 'ab12')).toBe('models/credit/ab12.onnx');
    expect(sagemakerPackageKey('credit', 7)).toBe('sagemaker/credit/7/model.tar.gz');
  });

  it('serves a version without a recorded target in the Lambda, and one with a target there', () => {
    expect(servingTargetOf({})).toEqual({ kind: 'lambda' });
    expect(servingTargetOf({ serving_target: { kind: 'sagemaker', endpoint_name: 'gpu' } })).toEqual({ kind: 'sagemaker', endpoint_name: 'gpu' });
  });
});
