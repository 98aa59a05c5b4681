import { describe, expect, it } from 'vitest';
import { SeededRandom } from '#core/data/random.ts';
import { choleskySolve, fitLogisticRegression, predictProbabilities, sigmoid } from '#core/training/logistic-regression.ts';

/** Gradient of sum logloss + l2/2 ||w||² at the fitted parameters. */
function gradient(x: Float64Array, y: Uint8Array, rows: number, columns: number, w: Float64Array, b: number, l2: number): number[] {
  const g = new Array<number>(columns + 1).fill(0);
  for (let i = 0; i < rows; i++) {
    let z = b;
    for (let j = 0; j < columns; j++) z += (x[i * columns + j] as number) * (w[j] as number);
    const r = sigmoid(z) - (y[i] as number);
    g[0] = (g[0] as number) + r;
    for (let j = 0; j < columns; j++) g[j + 1] = (g[j + 1] as number) + r * (x[i * columns + j] as number);
  }
  for (let j = 0; j < columns; j++) g[j + 1] = (g[j + 1] as number) + l2 * (w[j] as number);
  return g;
}

function syntheticData(rows: number, columns: number, seed: number) {
  const random = new SeededRandom(seed);
  const x = new Float64Array(rows * columns);
  const y = new Uint8Array(rows);
  const truth = Array.from({ length: columns }, (_, j) => (j % 2 === 0 ? 1.5 : -1) / (j + 1));
  for (let i = 0; i < rows; i++) {
    let z = -0.5;
    for (let j = 0; j < columns; j++) {
      const v = random.next() * 4 - 2;
      x[i * columns + j] = v;
      z += v * (truth[j] as number);
    }
    y[i] = random.next() < sigmoid(z) ? 1 : 0;
  }
  return { x, y };
}

describe('sigmoid', () => {
  it('is stable at extreme inputs', () => {
    expect(sigmoid(0)).toBe(0.5);
    expect(sigmoid(1000)).toBe(1);
    expect(sigmoid(-1000)).toBe(0);
    expect(sigmoid(-30)).toBeGreaterThan(0);
  });
});

describe('choleskySolve', () => {
  it('solves a symmetric positive-definite system and reports a singular one', () => {
    const b = Float64Array.from([1, 2]);
    expect(choleskySolve(Float64Array.from([4, 2, 2, 3]), b, 2)).toBe(true);
    expect(b[0]).toBeCloseTo(-0.125, 12);
    expect(b[1]).toBeCloseTo(0.75, 12);
    expect(choleskySolve(Float64Array.from([1, 1, 1, 1]), Float64Array.from([1, 1]), 2)).toBe(false);
  });
});

describe('fitLogisticRegression', () => {
  const rows = 600;
  const columns = 4;
  const { x, y } = syntheticData(rows, columns, 3);

  it('converges to a stationary point of the penalised objective', () => {
    for (const l2 of [0, 1, 50]) {
      const model = fitLogisticRegression(x, y, rows, columns, { l2 });
      expect(model.converged).toBe(true);
      for (const g of gradient(x, y, rows, columns, model.weights, model.intercept, l2)) expect(Math.abs(g)).toBeLessThan(1e-6);
    }
  });

  it('shrinks the weights as the penalty grows', () => {
    const norm = (l2: number) => Math.hypot(...fitLogisticRegression(x, y, rows, columns, { l2 }).weights);
    expect(norm(100)).toBeLessThan(norm(1));
  });

  it('recovers the signs of the generating weights', () => {
    const model = fitLogisticRegression(x, y, rows, columns);
    expect([...model.weights].map(Math.sign)).toEqual([1, -1, 1, -1]);
    const p = predictProbabilities(model, x, rows, columns);
    expect(p.every((v) => v > 0 && v < 1)).toBe(true);
  });

  it('survives a constant column without a penalty', () => {
    const withConstant = new Float64Array(rows * 2);
    for (let i = 0; i < rows; i++) {
      withConstant[i * 2] = x[i * columns] as number;
      withConstant[i * 2 + 1] = 0;
    }
    const model = fitLogisticRegression(withConstant, y, rows, 2, { l2: 0 });
    expect(model.weights[1]).toBeCloseTo(0, 6);
    expect(Number.isFinite(model.intercept)).toBe(true);
  });
});
