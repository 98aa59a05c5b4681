/** Stratified train/holdout split: each class is shuffled with a seeded generator and split on its own. */
import { SeededRandom } from '#core/data/random.ts';

export interface Split {
  /** Row indexes of the training part, ascending. */
  readonly train: readonly number[];
  /** Row indexes of the holdout part, ascending. */
  readonly holdout: readonly number[];
}

/**
 * Splits row indexes so that each class keeps its share in both parts: a class with `n` rows
 * puts `round(n * testFraction)` of them in the holdout. The same labels, fraction and seed
 * always give the same split.
 */
export function stratifiedSplit(labels: ArrayLike<number>, testFraction: number, seed: number): Split {
  if (!(testFraction > 0 && testFraction < 1)) {
    throw new RangeError(`testFraction must be in (0, 1), got ${testFraction}`);
  }
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i] as number;
    let bucket = byClass.get(label);
    if (bucket === undefined) {
      bucket = [];
      byClass.set(label, bucket);
    }
    bucket.push(i);
  }

  const random = new SeededRandom(seed);
  const train: number[] = [];
  const holdout: number[] = [];
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    const indexes = random.shuffle(byClass.get(label) as number[]);
    const testCount = Math.round(indexes.length * testFraction);
    holdout.push(...indexes.slice(0, testCount));
    train.push(...indexes.slice(testCount));
  }
  train.sort((a, b) => a - b);
  holdout.sort((a, b) => a - b);
  return { train, holdout };
}
