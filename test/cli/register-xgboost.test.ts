import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractTarEntries } from '#core/pipeline/tar.ts';
import { runMlops, runMlopsJson, type CliResult } from '../support/mlops-cli.ts';
import { startLocalPlatform, type LocalPlatform } from '../../local/platform.ts';
import { writePlatformFile } from '../../local/platform-file.ts';

/**
 * `mlops --local register --xgboost`: an XGBoost model trained elsewhere (the converter's fixtures, written by real
 * XGBoost) registered, promoted and called through the predict API answers XGBoost's own probabilities.
 */

const fixtures = fileURLToPath(new URL('../fixtures/xgboost/', import.meta.url));
let dataDir: string;
let workDir: string;
let platform: LocalPlatform;

const local = (args: string[]): string[] => ['--local', '--local-dir', dataDir, '--actor', 'tester@xgboost-test', ...args];
const mlops = (...args: string[]): Promise<CliResult> => runMlops(local(args), { cwd: workDir });

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-xgb-platform-'));
  workDir = mkdtempSync(join(tmpdir(), 'mlops-xgb-work-'));
  platform = await startLocalPlatform({ dataDir, apiKey: 'xgb-test-key-0123456789', port: 0, registryCacheTtlSeconds: 0 });
  writePlatformFile(dataDir, platform);
});

afterAll(async () => {
  await platform?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(workDir, { recursive: true, force: true });
});

describe('mlops --local register --xgboost', () => {
  it('registers a fixture model whose predictions through the API are XGBoost’s own to 1e-6', async () => {
    // Act: register and promote, as a person would.
    const registered = await runMlopsJson<{ version: { version: number; metadata: { algorithm: string } } }>(
      local(['register', '--model', 'credit-xgb', '--xgboost', join(fixtures, 'missing-default-directions/model.json'), '--metadata', join(fixtures, 'missing-default-directions/metadata.json')]),
      { cwd: workDir },
    );
    expect(registered.version.metadata.algorithm).toBe('xgboost');
    const promoted = await mlops('promote', '--model', 'credit-xgb', '--version', String(registered.version.version), '--reason', 'xgboost');
    expect(promoted).toMatchObject({ code: 0, stderr: '' });

    // Assess: the rows in batches the API accepts, rows with missing values included.
    const { rows } = JSON.parse(readFileSync(join(fixtures, 'rows.json'), 'utf8')) as { rows: unknown[] };
    const { probabilities } = JSON.parse(readFileSync(join(fixtures, 'missing-default-directions/expected.json'), 'utf8')) as { probabilities: number[] };
    const answered: number[] = [];
    for (let start = 0; start < rows.length; start += 100) {
      const response = await fetch(`${platform.url}/v1/models/credit-xgb/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': platform.apiKey },
        body: JSON.stringify({ instances: rows.slice(start, start + 100) }),
      });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { model_version: number; predictions: { probability: number }[] };
      expect(body.model_version).toBe(registered.version.version);
      answered.push(...body.predictions.map((p) => p.probability));
    }
    expect(answered.length).toBe(probabilities.length);
    answered.forEach((p, i) => expect(Math.abs(p - (probabilities[i] as number))).toBeLessThanOrEqual(1e-6));
  });

  it('registers the xgboost-model file SageMaker’s built-in algorithm writes (legacy binary format) with the same probabilities', async () => {
    // Prepare: the binary model out of the job's model.tar.gz (written by real XGBoost 1.7 as the algorithm does).
    const binary = extractTarEntries(readFileSync(join(fixtures, 'imputed/sagemaker-model.tar.gz'))).get('xgboost-model') as Uint8Array;
    const path = join(workDir, 'xgboost-model');
    writeFileSync(path, binary);

    // Act
    const registered = await runMlopsJson<{ version: { version: number } }>(
      local(['register', '--model', 'credit-xgb-bin', '--xgboost', path, '--metadata', join(fixtures, 'imputed/metadata.json')]),
      { cwd: workDir },
    );
    await mlops('promote', '--model', 'credit-xgb-bin', '--version', String(registered.version.version), '--reason', 'xgboost');

    // Assess: the first 100 fixture rows through the API.
    const { rows } = JSON.parse(readFileSync(join(fixtures, 'rows.json'), 'utf8')) as { rows: unknown[] };
    const { probabilities } = JSON.parse(readFileSync(join(fixtures, 'imputed/expected.json'), 'utf8')) as { probabilities: number[] };
    const response = await fetch(`${platform.url}/v1/models/credit-xgb-bin/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': platform.apiKey },
      body: JSON.stringify({ instances: rows.slice(0, 100) }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { predictions: { probability: number }[] };
    body.predictions.forEach((p, i) => expect(Math.abs(p.probability - (probabilities[i] as number))).toBeLessThanOrEqual(1e-6));
  });

  it('refuses a model it cannot convert, or both artifacts at once, in one line', async () => {
    const broken = join(workDir, 'broken.json');
    writeFileSync(broken, JSON.stringify({ version: [1, 7, 4], learner: { objective: { name: 'reg:squarederror' } } }));
    const metadata = join(fixtures, 'imputed/metadata.json');
    const refused = await mlops('register', '--model', 'credit-xgb', '--xgboost', broken, '--metadata', metadata);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^mlops: [^\n]*learner\.objective\.name must be "binary:logistic"[^\n]*\n$/);
    const both = await mlops('register', '--model', 'credit-xgb', '--xgboost', broken, '--onnx', broken, '--metadata', metadata);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/exactly one of --onnx FILE or --xgboost FILE/);
    const mismatched = await mlops('register', '--model', 'credit-xgb', '--xgboost', join(fixtures, 'imputed/model.json'), '--metadata', join(fixtures, 'rows.json'));
    expect(mismatched.code).toBe(1);
    expect(mismatched.stderr).toMatch(/^mlops: metadata\.[^\n]+\n$/);
  });
});
