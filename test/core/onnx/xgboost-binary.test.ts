import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isXgboostBinary, parseXgboostModelBytes, xgboostBinaryToDocument } from '#core/onnx/xgboost-binary.ts';
import { parseXgboostModel, XgboostModelError } from '#core/onnx/xgboost-model.ts';
import { extractTarEntries } from '#core/pipeline/tar.ts';

/** model.tar.gz as SageMaker's built-in XGBoost 1.7-1 writes it (scripts/xgboost-reference/sagemaker-artifact.py). */
const fixtures = new URL('../../fixtures/xgboost/', import.meta.url);
function binaryModel(variant: string): Uint8Array {
  const model = extractTarEntries(readFileSync(new URL(`${variant}/sagemaker-model.tar.gz`, fixtures))).get('xgboost-model');
  if (model === undefined) throw new Error('fixture without xgboost-model');
  return model;
}

describe('XGBoost legacy binary models', () => {
  it.each(['missing-default-directions', 'imputed'])('%s: reads the same trees, splits, default directions and base score as the JSON model', (variant) => {
    const bytes = binaryModel(variant);
    expect(isXgboostBinary(bytes)).toBe(true);
    const fromBinary = parseXgboostModelBytes(bytes);
    const fromJson = parseXgboostModel(JSON.parse(readFileSync(new URL(`${variant}/model.json`, fixtures), 'utf8')));
    expect(fromBinary.features).toBe(fromJson.features);
    expect(Math.fround(fromBinary.baseScore)).toBe(Math.fround(fromJson.baseScore));
    expect(fromBinary.trees.length).toBe(fromJson.trees.length);
    // float32 in both files: equal once rounded to float32 (the ONNX graph's type).
    const asFloat32 = (trees: typeof fromJson.trees) =>
      trees.map((tree) => tree.nodes.map((node) => (node.kind === 'leaf' ? { ...node, value: Math.fround(node.value) } : { ...node, threshold: Math.fround(node.threshold) })));
    expect(asFloat32(fromBinary.trees)).toEqual(asFloat32(fromJson.trees));
    expect(fromBinary.trees.some((tree) => tree.nodes.some((node) => node.kind === 'split' && node.missingGoesLeft))).toBe(true);
  });

  it('refuses a truncated file, naming where it ended', () => {
    const bytes = binaryModel('imputed');
    const cut = bytes.subarray(0, bytes.length - 500);
    expect(() => xgboostBinaryToDocument(cut)).toThrow(XgboostModelError);
    expect(() => xgboostBinaryToDocument(cut)).toThrow(/ends inside tree 1\d's node/);
    expect(() => xgboostBinaryToDocument(bytes.subarray(0, 400))).toThrow(/impossible tree count 20/);
    expect(() => xgboostBinaryToDocument(bytes.subarray(0, 100))).toThrow(/ends inside the learner parameters/);
  });

  it('refuses UBJSON and other bytes with what to do instead, and still reads JSON', () => {
    const ubjson = new Uint8Array([0x7b, 0x4c, 0, 0, 0, 0, 0, 0, 0, 7, ...new TextEncoder().encode('learner')]);
    expect(() => parseXgboostModelBytes(ubjson)).toThrow(/UBJSON is not read: save the model with a \.json name/);
    expect(() => parseXgboostModelBytes(new TextEncoder().encode('{"learner": '))).toThrow(/not valid JSON/);
    const json = readFileSync(new URL('imputed/model.json', fixtures));
    expect(parseXgboostModelBytes(json).trees.length).toBe(20);
  });

  it('refuses a binary model of another booster or objective', () => {
    const bytes = new Uint8Array(binaryModel('imputed'));
    // The objective's name follows the 4-byte magic, the 136-byte learner parameters and its 8-byte length.
    const objective = 4 + 136 + 8;
    expect(new TextDecoder().decode(bytes.subarray(objective, objective + 15))).toBe('binary:logistic');
    const other = bytes.slice();
    other.set(new TextEncoder().encode('binary:hinge\0\0\0'), objective);
    expect(() => parseXgboostModelBytes(other)).toThrow(/objective.name must be "binary:logistic"/);
  });
});
