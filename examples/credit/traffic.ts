/**
 * Sends rows of the credit data set to the local platform's predict route, as live traffic, so a drift check
 * has something realistic to compare with the training baseline (README "Watching a drift appear locally").
 *
 *   npx tsx examples/credit/traffic.ts [--rows 500] [--shift] [--seed 1]
 *
 * Rows are drawn (seeded shuffle) from the complete rows of credit_data.csv, in requests of 50, each request with
 * its own `x-request-id`. `--shift` changes the population the way a drift would: `Income` × 1.5 and `Home` set
 * to `owner` for everyone; the other features keep their training distribution. The API's URL and key come from
 * the platform file `npm start` writes (`$MLOPS_LOCAL_DIR/platform.json`, default `.mlops-local/`).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseCsv } from '#core/data/csv.ts';
import { SeededRandom } from '#core/data/random.ts';
import { toLabelledTable } from '#core/data/table.ts';
import type { FeatureRow } from '#core/model/metadata.ts';
import { CREDIT_POSITIVE_LABEL, CREDIT_TARGET } from './train.ts';

const BATCH = 50;

function shifted(row: FeatureRow): FeatureRow {
  const income = row.Income;
  return { ...row, Income: typeof income === 'number' ? Math.round(income * 1.5) : (income ?? null), Home: 'owner' };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { rows: { type: 'string', default: '500' }, shift: { type: 'boolean', default: false }, seed: { type: 'string', default: '1' } },
  });
  const count = Number(values.rows);
  const seed = Number(values.seed);
  if (!Number.isInteger(count) || count < 1) throw new Error(`--rows must be a positive integer, got "${values.rows}"`);
  if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, got "${values.seed}"`);

  const platformFile = join(resolve(process.env.MLOPS_LOCAL_DIR ?? '.mlops-local'), 'platform.json');
  let platform: { api_url: string; api_key: string };
  try {
    platform = JSON.parse(readFileSync(platformFile, 'utf8')) as { api_url: string; api_key: string };
  } catch {
    throw new Error(`the local platform is not running: start it with npm start (no ${platformFile})`);
  }

  const csv = readFileSync(new URL('./credit_data.csv', import.meta.url), 'utf8');
  const table = toLabelledTable(parseCsv(csv), CREDIT_TARGET, CREDIT_POSITIVE_LABEL);
  // Complete rows only, so every request is valid whatever the model's nullable features are.
  const complete = table.rows.filter((row) => Object.values(row).every((v) => v !== null));
  const drawn = new SeededRandom(seed).shuffle([...complete]);
  const rows = Array.from({ length: count }, (_, i) => drawn[i % drawn.length] as FeatureRow).map((row) => (values.shift ? shifted(row) : row));

  const stamp = Date.now().toString(36);
  for (let i = 0; i < rows.length; i += BATCH) {
    const response = await fetch(`${platform.api_url}/v1/models/credit/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': platform.api_key, 'x-request-id': `traffic-${stamp}-${i}` },
      body: JSON.stringify({ instances: rows.slice(i, i + BATCH) }),
    });
    if (response.status !== 200) throw new Error(`predict answered ${response.status}: ${await response.text()}`);
  }
  console.log(`sent ${rows.length} ${values.shift ? 'shifted (Income × 1.5, Home owner)' : 'ordinary'} rows of credit_data.csv to ${platform.api_url} in ${Math.ceil(rows.length / BATCH)} requests`);
}

main().catch((error: unknown) => {
  console.error(`traffic: ${(error as Error).message}`);
  process.exit(1);
});
