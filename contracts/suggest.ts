/**
 * "Did you mean …?": how far a name someone typed is from one we know. Used where a misspelt name is refused (the
 * CLI's unknown options, a run's trainer parameters), so both measure a typo the same way.
 */

/** Edit distance (insertions, deletions, substitutions) of two short strings. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] as number;
      row[j] = Math.min(current + 1, (row[j - 1] as number) + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length] as number;
}
