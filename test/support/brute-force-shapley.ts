/**
 * Shapley values by definition, for the explain tests: every coalition S of the players, the value of S the mean
 * over the background of the margin of the hybrid row (x's columns for the players in S, z's for the others), and
 *
 *   φ_i = Σ_{S ⊆ N∖{i}} |S|! (n − |S| − 1)! / n! · (v(S ∪ {i}) − v(S)).
 *
 * 2^n coalitions: for up to about 13 players.
 */
export function bruteForceShapley(
  margin: (row: Float64Array) => number,
  x: ArrayLike<number>,
  background: Float64Array,
  columns: number,
  columnPlayer: Int32Array,
  players: number,
): { phi: Float64Array; base: number; value: (mask: number) => number } {
  const rows = background.length / columns;
  const cache = new Float64Array(1 << players).fill(Number.NaN);
  const hybrid = new Float64Array(columns);
  const value = (mask: number): number => {
    const cached = cache[mask] as number;
    if (!Number.isNaN(cached)) return cached;
    let sum = 0;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < columns; c++) {
        const inS = (mask >> (columnPlayer[c] as number)) & 1;
        hybrid[c] = inS ? (x[c] as number) : (background[r * columns + c] as number);
      }
      sum += margin(hybrid);
    }
    cache[mask] = sum / rows;
    return sum / rows;
  };
  const factorial = (k: number): number => (k <= 1 ? 1 : k * factorial(k - 1));
  const phi = new Float64Array(players);
  for (let i = 0; i < players; i++) {
    for (let mask = 0; mask < 1 << players; mask++) {
      if ((mask >> i) & 1) continue;
      let size = 0;
      for (let m = mask; m > 0; m >>= 1) size += m & 1;
      const weight = (factorial(size) * factorial(players - size - 1)) / factorial(players);
      phi[i] = (phi[i] as number) + weight * (value(mask | (1 << i)) - value(mask));
    }
  }
  return { phi, base: value(0), value };
}
