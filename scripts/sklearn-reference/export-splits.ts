/**
 * Writes the built-in trainer's stratified holdout splits of a CSV file (row indexes, seeds 0 to 11 and 42) as JSON,
 * so that `logreg.py` can fit scikit-learn on exactly the rows our trainer uses.
 *
 *   npx tsx scripts/sklearn-reference/export-splits.ts FILE.csv TARGET POSITIVE > splits.json
 */
import { readFileSync } from 'node:fs';
import { parseCsv } from '#core/data/csv.ts';
import { toLabelledTable } from '#core/data/table.ts';
import { stratifiedSplit } from '#core/training/split.ts';

const [file, target, positive] = process.argv.slice(2);
if (file === undefined || target === undefined || positive === undefined) {
  console.error('usage: export-splits.ts FILE.csv TARGET POSITIVE');
  process.exit(2);
}
const table = toLabelledTable(parseCsv(readFileSync(file, 'utf8')), target, positive);
const seeds = [42, ...Array.from({ length: 12 }, (_, i) => i)];
const splits = seeds.map((seed) => ({ seed, ...stratifiedSplit(table.labels, 0.25, seed) }));
process.stdout.write(JSON.stringify({ file, target, positive, splits }));
