/**
 * The process the crash harness kills (test/crash/crash-harness.test.ts): the local platform on a data directory,
 * a training run, and then registrations and bursts of 20 concurrent promotions without end. It prints `ready`,
 * then `run <id>` once the training run has started; the harness sends SIGKILL at a random moment after that.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { OnnxArtifactInspector } from '#adapters/onnx-artifact-inspector.ts';
import { datasetKey } from '#core/pipeline/run.ts';
import { registerArtifact } from '#core/registry/registration.ts';
import { trainCreditModel } from '../../examples/credit/train.ts';
import { startLocalPlatform } from '../../local/platform.ts';

const dataDir = process.argv[2];
if (dataDir === undefined) throw new Error('usage: crash-child.ts DATA_DIR');
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

const platform = await startLocalPlatform({ dataDir, apiKey: 'crash-harness-key', port: 0, pipeline: { retryIntervalMs: 0 } });
const { onnx, metadata } = await trainCreditModel();
process.stdout.write('ready\n');

const csv = readFileSync(new URL('../../examples/credit/credit_data.csv', import.meta.url));
const dataset = { key: datasetKey('crash-train', sha256(csv)), sha256: sha256(csv) };
await platform.artifacts.putBytes(dataset.key, csv, 'text/csv');
const { run } = platform.pipeline.start({ model: 'crash-train', dataset, target: 'Status', positive_label: 'bad', requested_by: 'crash-harness' });
process.stdout.write(`run ${run.run_id}\n`);

/** The same model with another ONNX doc_string (field 6, the last occurrence wins): new bytes, same graph. */
function variant(n: number): Uint8Array {
  const doc = Buffer.from(`crash-harness ${n} ${randomUUID()}`);
  return Buffer.concat([onnx, Buffer.from([0x32, doc.length]), doc]);
}

for (let round = 0; ; round++) {
  const { version } = await registerArtifact(
    { model: 'crash', bytes: variant(round), metadata, description: 'crash harness', actor: 'crash-harness', reason: `round ${round}` },
    { inspector: new OnnxArtifactInspector(), artifacts: platform.artifacts, registry: platform.registryService, sha256 },
  );
  await Promise.allSettled(
    Array.from({ length: 20 }, (_, i) =>
      platform.registryService.promote({ model: 'crash', version: 1 + ((version.version + i) % version.version), actor: 'crash-harness', reason: `round ${round} #${i}` }),
    ),
  );
}
