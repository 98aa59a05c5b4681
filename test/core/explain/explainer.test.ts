import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '#core/data/random.ts';
import { encodeRows } from '#core/model/encode.ts';
import type { ColumnEncoding, FeatureRow, FeatureSpec, ModelMetadata } from '#core/model/metadata.ts';
import { buildLogisticRegressionOnnx } from '#core/onnx/logistic-regression-graph.ts';
import { buildTreeEnsembleOnnx, type TreeEnsembleTree } from '#core/onnx/tree-ensemble-graph.ts';
import { trainGradientBoosting, trainLogisticRegression } from '#core/training/train-binary-classifier.ts';
import { backgroundFromBaseline } from '#core/explain/background.ts';
import { additivityGap, columnPlayers, createExplainer, ExplainNotSupportedError, type RowScorer } from '#core/explain/explainer.ts';
import { logit, marginOf, sigmoid } from '#core/explain/margin.ts';
import { readExplainableGraph, type ExplainableGraph } from '#core/explain/onnx-reader.ts';
import { bruteForceShapley } from '../../support/brute-force-shapley.ts';

const never: RowScorer = () => Promise.reject(new Error('exact methods do not score'));

/** A random small schema: numeric features (some nullable) and categorical ones (one-hot groups, some imputed to zeros). */
function randomMetadata(random: SeededRandom, features: number): ModelMetadata {
  const specs: FeatureSpec[] = [];
  const encodings: ColumnEncoding[] = [];
  for (let f = 0; f < features; f++) {
    const name = `f${f}`;
    if (f % 3 === 2) {
      const categories = Array.from({ length: 2 + random.nextInt(3) }, (_, k) => `c${k}`);
      specs.push({ name, type: 'categorical', nullable: true, categories });
      encodings.push({ feature: name, kind: 'one_hot', categories, impute: f % 2 === 0 ? null : 'c0' });
    } else {
      specs.push({ name, type: 'numeric', nullable: true });
      encodings.push({ feature: name, kind: 'numeric', impute: Math.round(random.next() * 100) / 10 });
    }
  }
  const columns = encodings.reduce((n, e) => n + (e.kind === 'numeric' ? 1 : e.categories.length), 0);
  return {
    algorithm: 'test',
    input_schema: { schema_version: 1, features: specs },
    preprocessing: { preprocess_version: 1, input_name: 'input', output_name: 'probability', columns, encodings },
    output: { positive_label: 'yes', negative_label: 'no', threshold: 0.5 },
    metrics: {},
    baseline: {},
    lineage: { data_sha256: '0', rows: 0, target: 't', seed: 1, parameters: {}, trainer: 'test', trainer_version: '0' },
  };
}

/** Rows with missing values (null), and, when `unseen`, categories the encoding does not know (all-zero columns). */
function randomRows(random: SeededRandom, metadata: ModelMetadata, count: number, unseen: boolean): FeatureRow[] {
  return Array.from({ length: count }, () =>
    Object.fromEntries(
      metadata.input_schema.features.map((spec) => {
        if (random.next() < 0.15) return [spec.name, null];
        if (spec.type === 'numeric') return [spec.name, Math.round(random.next() * 100) / 10];
        if (unseen && random.next() < 0.2) return [spec.name, 'never-seen'];
        return [spec.name, spec.categories[random.nextInt(spec.categories.length)] as string];
      }),
    ),
  );
}

function randomTree(random: SeededRandom, columns: number, depth: number): TreeEnsembleTree {
  const nodes: TreeEnsembleTree['nodes'][number][] = [];
  const grow = (level: number): number => {
    const index = nodes.length;
    if (level === depth || (level > 0 && random.next() < 0.2)) {
      nodes.push({ kind: 'leaf', value: Math.fround(random.next() * 2 - 1) });
      return index;
    }
    nodes.push({ kind: 'leaf', value: 0 }); // placeholder, replaced below
    const feature = random.nextInt(columns);
    const threshold = Math.fround(random.next() < 0.5 ? 0.5 : random.next() * 10);
    const left = grow(level + 1);
    const right = grow(level + 1);
    nodes[index] = { kind: 'split', feature, threshold, left, right };
    return index;
  };
  grow(0);
  return { nodes };
}

/** The tree's margin straight from its definition, independent of the ONNX reader. */
function treeMargin(trees: readonly TreeEnsembleTree[], base: number): (row: Float64Array) => number {
  return (row) => {
    let sum = base;
    for (const tree of trees) {
      let n = 0;
      for (;;) {
        const node = tree.nodes[n];
        if (node === undefined) throw new Error('bad tree');
        if (node.kind === 'leaf') {
          sum += node.value;
          break;
        }
        n = (row[node.feature] as number) <= node.threshold ? node.left : node.right;
      }
    }
    return sum;
  };
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) expect(Math.abs((actual[i] as number) - (expected[i] as number))).toBeLessThanOrEqual(tolerance);
}

async function compareWithBruteForce(
  graph: ExplainableGraph,
  metadata: ModelMetadata,
  background: FeatureRow[],
  instances: FeatureRow[],
  margin: (row: Float64Array) => number,
): Promise<void> {
  const explainer = createExplainer({ graph, metadata, background: { rows: background, source: 'baseline_sample' }, approximation: { kind: 'refuse' } });
  const input = encodeRows(metadata.preprocessing, instances);
  const explanations = await explainer.explain(input, instances.length, never);
  const columns = metadata.preprocessing.columns;
  const encodedBackground = Float64Array.from(encodeRows(metadata.preprocessing, background));
  const players = columnPlayers(metadata);
  for (let i = 0; i < instances.length; i++) {
    const x = Float64Array.from(input.subarray(i * columns, (i + 1) * columns));
    const exact = bruteForceShapley(margin, x, encodedBackground, columns, players, metadata.input_schema.features.length);
    expectClose(explanations.attributions[i] as Float64Array, exact.phi, 1e-9);
    expect(Math.abs(explanations.base - exact.base)).toBeLessThanOrEqual(1e-9);
    expect(Math.abs((explanations.margins[i] as number) - margin(x))).toBeLessThanOrEqual(1e-9);
    expect(additivityGap(explanations, i)).toBeLessThanOrEqual(1e-9);
  }
}

describe('tree SHAP (interventional, features as players)', () => {
  it.each([
    [1, 4, 3],
    [2, 6, 4],
    [3, 8, 5],
    [4, 10, 4],
  ])('equals brute-force Shapley values over every coalition (seed %i, %i features, depth %i)', async (seed, features, depth) => {
    const random = new SeededRandom(seed);
    const metadata = randomMetadata(random, features);
    const trees = Array.from({ length: 6 }, () => randomTree(random, metadata.preprocessing.columns, depth));
    const base = Math.fround(-0.7);
    const bytes = buildTreeEnsembleOnnx({ columns: metadata.preprocessing.columns, trees, baseScore: base, inputName: 'input', outputName: 'probability' });
    const graph = readExplainableGraph(bytes, 'input', 'probability', metadata.preprocessing.columns);
    expect(graph.kind).toBe('trees');
    const background = randomRows(random, metadata, 12, false);
    const instances = randomRows(random, metadata, 4, true);
    await compareWithBruteForce(graph, metadata, background, instances, treeMargin(trees, base));
  });

  it('gives a feature no attribution when the instance and every background row agree on it', async () => {
    const random = new SeededRandom(9);
    const metadata = randomMetadata(random, 5);
    const trees = Array.from({ length: 4 }, () => randomTree(random, metadata.preprocessing.columns, 3));
    const bytes = buildTreeEnsembleOnnx({ columns: metadata.preprocessing.columns, trees, baseScore: 0, inputName: 'input', outputName: 'probability' });
    const graph = readExplainableGraph(bytes, 'input', 'probability', metadata.preprocessing.columns);
    const background = randomRows(random, metadata, 8, false).map((row) => ({ ...row, f0: 4.2 }));
    const instance = { ...(randomRows(random, metadata, 1, false)[0] as FeatureRow), f0: 4.2 };
    const explainer = createExplainer({ graph, metadata, background: { rows: background, source: 'baseline_sample' }, approximation: { kind: 'refuse' } });
    const { attributions } = await explainer.explain(encodeRows(metadata.preprocessing, [instance]), 1, never);
    expect(attributions[0]?.[0]).toBe(0);
  });
});

describe('linear SHAP (closed form)', () => {
  it('equals brute-force Shapley values on random logistic regressions with one-hot groups and missing values', async () => {
    for (const seed of [11, 12, 13]) {
      const random = new SeededRandom(seed);
      const metadata = randomMetadata(random, 7 + (seed % 3));
      const columns = metadata.preprocessing.columns;
      const mean = Array.from({ length: columns }, () => Math.fround(random.next()));
      const std = Array.from({ length: columns }, () => Math.fround(0.5 + random.next()));
      const weights = Array.from({ length: columns }, () => Math.fround(random.next() * 2 - 1));
      const intercept = Math.fround(0.3);
      const bytes = buildLogisticRegressionOnnx({ columns, mean, std, weights, intercept, inputName: 'input', outputName: 'probability' });
      const graph = readExplainableGraph(bytes, 'input', 'probability', columns);
      expect(graph.kind).toBe('linear');
      const margin = (row: Float64Array): number => {
        let sum = intercept;
        for (let c = 0; c < columns; c++) sum += (((row[c] as number) - (mean[c] as number)) / (std[c] as number)) * (weights[c] as number);
        return sum;
      };
      await compareWithBruteForce(graph, metadata, randomRows(random, metadata, 10, false), randomRows(random, metadata, 3, true), margin);
    }
  });

  it('equals brute force on the credit logistic regression, against its baseline-profile background', async () => {
    const csv = readFileSync(new URL('../../../examples/credit/credit_data.csv', import.meta.url), 'utf8');
    const { onnx, metadata, holdout } = trainLogisticRegression({ csv, target: 'Status', positiveLabel: 'bad', dataSha256: 'x' });
    const graph = readExplainableGraph(onnx, metadata.preprocessing.input_name, metadata.preprocessing.output_name, metadata.preprocessing.columns);
    if (graph.kind !== 'linear') throw new Error(`expected a linear graph, got ${graph.kind}`);
    const background = backgroundFromBaseline(metadata.input_schema, metadata.baseline, 20);
    expect(background.source).toBe('baseline_profile');
    const instances = holdout.rows.slice(0, 2);
    const explainer = createExplainer({ graph, metadata, background, approximation: { kind: 'refuse' } });
    expect(explainer.method).toBe('linear_exact');
    const input = encodeRows(metadata.preprocessing, instances);
    const explanations = await explainer.explain(input, instances.length, never);
    const columns = metadata.preprocessing.columns;
    const players = columnPlayers(metadata);
    const encodedBackground = Float64Array.from(encodeRows(metadata.preprocessing, background.rows));
    for (let i = 0; i < instances.length; i++) {
      const x = Float64Array.from(input.subarray(i * columns, (i + 1) * columns));
      const exact = bruteForceShapley((row) => marginOf(graph, row), x, encodedBackground, columns, players, metadata.input_schema.features.length);
      expectClose(explanations.attributions[i] as Float64Array, exact.phi, 1e-9);
      // The margin read from the graph is the trainer's probability on the log-odds scale.
      expect(Math.abs(sigmoid(explanations.margins[i] as number) - (holdout.probabilities[i] as number))).toBeLessThan(1e-5);
    }
  });

  it('reads a credit gradient-boosted model as trees, whose values add up to its margin', async () => {
    const csv = readFileSync(new URL('../../../examples/credit/credit_data.csv', import.meta.url), 'utf8');
    const { onnx, metadata, holdout } = trainGradientBoosting({ csv, target: 'Status', positiveLabel: 'bad', dataSha256: 'x', trees: 30 });
    const graph = readExplainableGraph(onnx, metadata.preprocessing.input_name, metadata.preprocessing.output_name, metadata.preprocessing.columns);
    const explainer = createExplainer({ graph, metadata, background: backgroundFromBaseline(metadata.input_schema, metadata.baseline, 50), approximation: { kind: 'refuse' } });
    expect(explainer.method).toBe('tree_exact');
    const instances = holdout.rows.slice(0, 5);
    const explanations = await explainer.explain(encodeRows(metadata.preprocessing, instances), 5, never);
    for (let i = 0; i < 5; i++) {
      expect(additivityGap(explanations, i)).toBeLessThan(1e-9);
      expect(Math.abs(sigmoid(explanations.margins[i] as number) - (holdout.probabilities[i] as number))).toBeLessThan(1e-5);
    }
  });
});

describe('sampling (graphs without an exact method)', () => {
  const random = new SeededRandom(21);
  const metadata = randomMetadata(random, 5);
  const columns = metadata.preprocessing.columns;
  const weights = Array.from({ length: columns }, () => random.next() * 2 - 1);
  // A margin no exact method covers: tanh of a linear function, doubled.
  const margin = (row: ArrayLike<number>, offset = 0): number => {
    let sum = 0;
    for (let c = 0; c < columns; c++) sum += (weights[c] as number) * (row[offset + c] as number);
    return 2 * Math.tanh(sum / 5);
  };
  const scorer: RowScorer = (input, rows) => Promise.resolve(Float32Array.from({ length: rows }, (_, r) => sigmoid(margin(input, r * columns))));
  const opaque: ExplainableGraph = { kind: 'opaque', reason: 'a Tanh' };
  const background = randomRows(random, metadata, 10, false);
  const instances = randomRows(random, metadata, 2, true);

  it('is refused when the policy says so', () => {
    expect(() => createExplainer({ graph: opaque, metadata, background: { rows: background, source: 'baseline_sample' }, approximation: { kind: 'refuse' } })).toThrow(
      ExplainNotSupportedError,
    );
  });

  it('adds up exactly and approaches the brute-force values as the budget grows', async () => {
    const explainer = createExplainer({ graph: opaque, metadata, background: { rows: background, source: 'baseline_sample' }, approximation: { kind: 'sampling', budget: 20_000 } });
    expect(explainer).toMatchObject({ method: 'sampling', approximate: true });
    const input = encodeRows(metadata.preprocessing, instances);
    const explanations = await explainer.explain(input, instances.length, scorer);
    const players = columnPlayers(metadata);
    const encodedBackground = Float64Array.from(encodeRows(metadata.preprocessing, background));
    for (let i = 0; i < instances.length; i++) {
      expect(additivityGap(explanations, i)).toBeLessThan(1e-9);
      const x = Float64Array.from(input.subarray(i * columns, (i + 1) * columns));
      const exact = bruteForceShapley((row) => logit(sigmoid(margin(Float32Array.from(row)))), x, encodedBackground, columns, players, 5);
      expectClose(explanations.attributions[i] as Float64Array, exact.phi, 0.05);
    }
  });
});

describe('background from the baseline profile', () => {
  it('keeps the training shares of categories and of missing values, deterministically', () => {
    const schema = { schema_version: 1, features: [{ name: 'c', type: 'categorical' as const, nullable: true, categories: ['a', 'b'] }, { name: 'n', type: 'numeric' as const, nullable: false }] };
    const baseline = {
      c: { type: 'categorical' as const, count: 90, missing_rate: 0.1, frequencies: { a: 0.75, b: 0.25 } },
      n: { type: 'numeric' as const, count: 100, missing_rate: 0, min: 0, max: 10, mean: 5, std: 3, quantiles: Array.from({ length: 11 }, (_, i) => i) },
    };
    const first = backgroundFromBaseline(schema, baseline, 100);
    expect(first).toEqual(backgroundFromBaseline(schema, baseline, 100));
    const values = first.rows.map((row) => row.c);
    expect(values.filter((v) => v === null)).toHaveLength(10);
    expect(values.filter((v) => v === 'a')).toHaveLength(68);
    const numbers = first.rows.map((row) => row.n as number).sort((a, b) => a - b);
    expect(numbers[0]).toBeCloseTo(0.05);
    expect(numbers[99]).toBeCloseTo(9.95);
  });

  it('uses kept sample rows when the profile has them', () => {
    const rows = [{ n: 1 }, { n: 2 }, { n: 3 }];
    expect(backgroundFromBaseline({ schema_version: 1, features: [{ name: 'n', type: 'numeric', nullable: false }] }, {}, 2, rows)).toEqual({ rows: rows.slice(0, 2), source: 'baseline_sample' });
  });
});
