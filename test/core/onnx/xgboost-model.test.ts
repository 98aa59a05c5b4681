import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { validatePredictRequest, compileSchema } from '#core/api/predict-request.ts';
import { encodeRows } from '#core/model/encode.ts';
import { parseModelMetadata } from '#core/model/metadata-validation.ts';
import type { FeatureRow } from '#core/model/metadata.ts';
import { parseXgboostModel, xgboostToOnnx, XgboostModelError } from '#core/onnx/xgboost-model.ts';

/** Fixtures written by scripts/xgboost-reference/train.py with real XGBoost (1.7): model, metadata, its probabilities. */
const fixtures = new URL('../../fixtures/xgboost/', import.meta.url);
const readJson = (path: string): unknown => JSON.parse(readFileSync(new URL(path, fixtures), 'utf8'));
const { rows } = readJson('rows.json') as { rows: Record<string, number | string | null>[] };
const VARIANTS = ['missing-default-directions', 'base-score', 'imputed'] as const;

async function score(bytes: Uint8Array, input: Float32Array, columns: number): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const result = await session.run({ features: new ort.Tensor('float32', input, [input.length / columns, columns]) }, ['probability']);
    return (result['probability'] as ort.Tensor).data as Float32Array;
  } finally {
    await session.release();
  }
}

function modelJson(variant: string): Record<string, unknown> {
  return readJson(`${variant}/model.json`) as Record<string, unknown>;
}

describe('xgboostToOnnx on models trained by XGBoost', () => {
  it('has fixture rows with missing numeric values and every kind of column', () => {
    expect(rows.length).toBeGreaterThan(1000);
    expect(rows.filter((row) => Object.values(row).includes(null)).length).toBeGreaterThan(300);
  });

  it.each(VARIANTS)('%s: gives XGBoost’s own probabilities to 1e-6 on every fixture row', async (variant) => {
    // Prepare: the request path's validation and encoding, as predict does.
    const metadata = parseModelMetadata(readJson(`${variant}/metadata.json`));
    const { probabilities: expected } = readJson(`${variant}/expected.json`) as { probabilities: number[] };
    const validated: FeatureRow[] = validatePredictRequest(compileSchema(metadata.input_schema), { instances: rows }, rows.length);
    const input = encodeRows(metadata.preprocessing, validated);

    // Act
    const bytes = xgboostToOnnx(parseXgboostModel(modelJson(variant)), metadata.preprocessing);
    const actual = await score(bytes, input, metadata.preprocessing.columns);

    // Assess: every row, not a summary.
    expect(actual.length).toBe(expected.length);
    let worst = 0;
    for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs((actual[i] as number) - (expected[i] as number)));
    expect(worst).toBeLessThanOrEqual(1e-6);
  });

  it('turns base_score (probability space) into the starting margin, in 1.x ("5E-1") and 3.x ("[5E-1]") spellings', () => {
    const raw = modelJson('base-score');
    const learner = raw['learner'] as Record<string, Record<string, unknown>>;
    const written = Number(learner['learner_model_param']?.['base_score']);
    const model = parseXgboostModel(raw);
    expect(model.baseScore).toBe(written);
    expect(1 / (1 + Math.exp(-model.baseMargin))).toBeCloseTo(written, 12);
    const bracketed = structuredClone(raw);
    ((bracketed['learner'] as Record<string, Record<string, unknown>>)['learner_model_param'] as Record<string, unknown>)['base_score'] = `[${String(learner['learner_model_param']?.['base_score'])}]`;
    expect(parseXgboostModel(bracketed).baseMargin).toBe(model.baseMargin);
  });

  it('routes a missing value to each split’s default direction', async () => {
    // One tree: x0 < 1 goes left (leaf -1), else right (leaf +1); missing goes to the default side.
    const tree = (defaultLeft: number) => ({
      tree_param: { num_nodes: '3', num_feature: '1', size_leaf_vector: '0' },
      left_children: [1, -1, -1],
      right_children: [2, -1, -1],
      split_indices: [0, 0, 0],
      split_conditions: [1, -1, 1],
      default_left: [defaultLeft, 0, 0],
      split_type: [0, 0, 0],
    });
    const preprocessing = { preprocess_version: 1, input_name: 'features', output_name: 'probability', columns: 1, encodings: [{ feature: 'x', kind: 'numeric' as const, impute: null }] };
    const document = (defaultLeft: number) => ({
      version: [1, 7, 4],
      learner: {
        objective: { name: 'binary:logistic' },
        learner_model_param: { base_score: '5E-1', num_feature: '1', num_class: '0' },
        gradient_booster: { name: 'gbtree', model: { trees: [tree(defaultLeft)] } },
      },
    });
    const input = Float32Array.from([Number.NaN, 0.5, 1]);
    const left = await score(xgboostToOnnx(parseXgboostModel(document(1)), preprocessing), input, 1);
    const right = await score(xgboostToOnnx(parseXgboostModel(document(0)), preprocessing), input, 1);
    const sigmoid = (m: number) => 1 / (1 + Math.exp(-m));
    // NaN follows default_left; 0.5 < 1 goes left; 1 < 1 is false (strict test) and goes right.
    expect([...left].map((p) => p.toFixed(6))).toEqual([sigmoid(-1), sigmoid(-1), sigmoid(1)].map((p) => p.toFixed(6)));
    expect([...right].map((p) => p.toFixed(6))).toEqual([sigmoid(1), sigmoid(-1), sigmoid(1)].map((p) => p.toFixed(6)));
  });

  it('refuses what it cannot reproduce, naming the field', () => {
    const raw = modelJson('imputed');
    const edit = (change: (learner: Record<string, Record<string, unknown>>) => void): unknown => {
      const copy = structuredClone(raw);
      change(copy['learner'] as Record<string, Record<string, unknown>>);
      return copy;
    };
    const refusal = (value: unknown): XgboostModelError => {
      try {
        parseXgboostModel(value);
      } catch (error) {
        if (error instanceof XgboostModelError) return error;
        throw error;
      }
      throw new Error('accepted');
    };
    expect(refusal(edit((l) => ((l['objective'] as Record<string, unknown>)['name'] = 'reg:squarederror'))).field).toBe('learner.objective.name');
    expect(refusal(edit((l) => ((l['gradient_booster'] as Record<string, unknown>)['name'] = 'dart'))).field).toBe('learner.gradient_booster.name');
    expect(refusal(edit((l) => ((l['learner_model_param'] as Record<string, unknown>)['base_score'] = '1.5'))).message).toMatch(/base_score must be a probability/);
    expect(refusal(edit((l) => ((l['learner_model_param'] as Record<string, unknown>)['num_class'] = '3'))).field).toBe('learner.learner_model_param.num_class');
    const categorical = edit((l) => {
      const tree = (l['gradient_booster']?.['model'] as { trees: Record<string, number[]>[] }).trees[0] as Record<string, number[]>;
      (tree['split_type'] as number[])[0] = 1;
    });
    expect(refusal(categorical).message).toMatch(/categorical split/);
    const cyclic = edit((l) => {
      const tree = (l['gradient_booster']?.['model'] as { trees: Record<string, number[]>[] }).trees[0] as Record<string, number[]>;
      (tree['left_children'] as number[])[1] = 0;
    });
    expect(refusal(cyclic).message).toMatch(/not a tree/);
    expect(refusal({ learner: {} }).field).toBe('version');
    expect(refusal('not a model').field).toBe('(root)');
  });

  it('refuses metadata whose columns are not the model’s features', () => {
    const metadata = parseModelMetadata(readJson('imputed/metadata.json'));
    const model = parseXgboostModel(modelJson('imputed'));
    expect(() => xgboostToOnnx(model, { ...metadata.preprocessing, columns: metadata.preprocessing.columns - 1 })).toThrow(
      /has 26 features but the metadata's preprocessing produces 25 columns/,
    );
  });
});
