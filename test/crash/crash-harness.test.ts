import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runDoctor, type DoctorReport } from '#core/registry/doctor.ts';
import { startLocalPlatform, type LocalPlatform } from '../../local/platform.ts';
import { objectsWithoutMetadata } from '../../local/s3rver-fixes.ts';

/**
 * The crash harness: a child process runs the local platform with a training run, registrations and bursts of 20
 * concurrent promotions (test/crash/crash-child.ts); it is killed with SIGKILL at a random moment; the platform is
 * started again on the same data and the registry's invariants are checked (the same checks as `mlops doctor`): one
 * production version per model, stages agree with the pointers, one audit entry per applied revision, every artifact
 * intact, no object without its metadata. The training run is marked failed, not gone. CRASH_TRIALS raises the count.
 */

const TRIALS = Number(process.env.CRASH_TRIALS ?? '3');
const dataDirs: string[] = [];

afterAll(() => {
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

/** A seeded generator (mulberry32), so the kill moments replay. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs the child until it has started its training run, then kills it `delayMs` later; resolves to the run id. */
function runAndKill(dataDir: string, delayMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'crash-child.ts'), dataDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'SILENT' },
    });
    let output = '';
    let runId: string | undefined;
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /^run (\S+)$/m.exec(output);
      if (match !== null && runId === undefined) {
        runId = match[1];
        setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    child.on('exit', (code, signal) => {
      if (runId !== undefined && signal === 'SIGKILL') resolve(runId);
      else reject(new Error(`the child ended with ${String(code)} ${String(signal)} before it was killed: ${stderr.slice(-2000)}`));
    });
  });
}

async function doctor(platform: LocalPlatform, dataDir: string): Promise<DoctorReport> {
  const registry = platform.registryService;
  return runDoctor(
    {
      listModels: () => registry.listModels(),
      listVersions: (model) => registry.listVersions(model, { includeDeleted: true }),
      history: (model) => registry.history(model),
      artifactSha256: async (key) => createHash('sha256').update(await platform.artifacts.getArtifact(key)).digest('hex'),
    },
    { findings: (await objectsWithoutMetadata(join(dataDir, 's3'))).map((key) => ({ invariant: 'no-object-without-metadata' as const, message: key })) },
  );
}

describe('crash harness', () => {
  it(`keeps the registry's invariants through ${TRIALS} SIGKILLs at random moments, and marks the killed run failed`, async () => {
    const random = seeded(Number(process.env.CRASH_SEED ?? '13'));
    const dataDir = mkdtempSync(join(tmpdir(), 'mlops-crash-'));
    dataDirs.push(dataDir);
    for (let trial = 0; trial < TRIALS; trial++) {
      // Act: kill the child while it registers and promotes (the run started last, so it is mid-way).
      const runId = await runAndKill(dataDir, Math.floor(200 + random() * 1500));

      // Assess: restarted on the same data, the registry is whole and the run is recorded.
      const platform = await startLocalPlatform({ dataDir, apiKey: 'crash-harness-key', port: 0 });
      try {
        const report = await doctor(platform, dataDir);
        expect(report.findings, `trial ${trial}`).toEqual([]);
        expect(report.healthy).toBe(true);
        const run = platform.pipeline.get(runId);
        expect(run?.status, `trial ${trial}: run ${runId}`).toMatch(/^(failed|succeeded)$/);
        if (run?.status === 'failed') expect(run.error?.name).toBeDefined();
      } finally {
        await platform.stop();
      }
    }
  }, 600_000);
});
