import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxArtifactInspector } from '#adapters/onnx-artifact-inspector.ts';
import type { ModelVersionRecord } from '#core/registry/records.ts';
import { registerArtifact } from '#core/registry/registration.ts';
import { run } from '../../cli/program.ts';
import { startLocalPlatform, type LocalPlatform } from '../../local/platform.ts';
import { writePlatformFile } from '../../local/platform-file.ts';
import { constantScoreOnnx } from '../support/canary-artifacts.ts';
import { CREDIT_INSTANCE } from '../support/credit-instances.ts';

/**
 * Last good state on the local platform: a corrupted artifact cannot be promoted (CLI and API share the check), and a
 * production artifact corrupted after its promotion is served by the previous production version once a fresh
 * container (a restarted platform) has to load it.
 */

const API_KEY = 'fallback-test-key-0123456789';
let dataDir: string;
let platform: LocalPlatform;

async function registerVersion(probability: number): Promise<ModelVersionRecord> {
  const production = await platform.registryService.getVersion('credit', 1);
  const { version } = await registerArtifact(
    {
      model: 'credit',
      bytes: constantScoreOnnx(production.metadata.preprocessing, probability),
      metadata: production.metadata,
      description: `constant ${probability}`,
      actor: 'tester',
      reason: 'fallback test',
    },
    {
      inspector: new OnnxArtifactInspector(),
      artifacts: platform.artifacts,
      registry: platform.registryService,
      sha256: (b) => createHash('sha256').update(b).digest('hex'),
    },
  );
  return version;
}

/** Overwrites a version's stored bytes with the same bytes but one flipped, as a bad disk or a stray upload would. */
async function corrupt(record: ModelVersionRecord): Promise<void> {
  const bytes = await platform.artifacts.getArtifact(record.artifact.key);
  const flipped = Uint8Array.from(bytes, (b, i) => (i === bytes.length - 1 ? b ^ 0xff : b));
  await platform.artifacts.putBytes(record.artifact.key, flipped, 'application/octet-stream');
}

async function predict(): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${platform.url}/v1/models/credit/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
    body: JSON.stringify({ instances: [CREDIT_INSTANCE] }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function mlops(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(['--local', '--local-dir', dataDir, ...args], {
    io: { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) },
    env: {},
    cwd: dataDir,
  });
  return { code, stdout, stderr };
}

async function startPlatform(): Promise<void> {
  platform = await startLocalPlatform({ dataDir, apiKey: API_KEY, port: 0, registryCacheTtlSeconds: 0 });
  writePlatformFile(dataDir, platform);
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-fallback-'));
  await startPlatform();
});

afterAll(async () => {
  await platform?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('last good state on the local platform', () => {
  it('refuses to promote a corrupted artifact, and serves the previous production version when production is corrupted after its promotion', async () => {
    // Prepare: version 2 (constant 0.3) and version 3 (constant 0.7) registered beside the seeded version 1.
    const second = await registerVersion(0.3);
    const third = await registerVersion(0.7);

    // A corrupted artifact cannot be promoted: the CLI names the check, nothing changes.
    await corrupt(third);
    const refused = await mlops('promote', '--model', 'credit', '--version', String(third.version), '--reason', 'corrupted');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/ARTIFACT_VERIFICATION_FAILED|failed verification/);
    expect((await platform.registryService.getModel('credit')).production_version).toBe(1);

    // An intact one is promoted and answers.
    expect((await mlops('promote', '--model', 'credit', '--version', String(second.version), '--reason', 'sound')).code).toBe(0);
    const promoted = await predict();
    expect(promoted.status).toBe(200);
    expect(promoted.body).toMatchObject({ model_version: second.version, variant: 'production' });

    // Act: production's bytes are corrupted in the bucket, and a fresh container (a restart) has to load them.
    await corrupt(second);
    await platform.stop();
    await startPlatform();
    const answered = await predict();

    // Assess: the previous production version answers, and says so; the registry still names version 2.
    expect(answered.status).toBe(200);
    expect(answered.body).toMatchObject({ model: 'credit', model_version: 1, variant: 'production' });
    expect((await platform.registryService.getModel('credit')).production_version).toBe(second.version);
  });
});
