import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ApprovalStore } from '#core/pipeline/ports.ts';
import { LocalPipeline, type LocalRun } from '../../local/pipeline.ts';

const noApprovals: ApprovalStore = {
  create: async () => undefined,
  get: async () => undefined,
  decide: async () => false,
};

/** A pipeline whose first step waits until `release` is called, then fails: every run ends soon after. */
function blockedPipeline(runsDir: string): { pipeline: LocalPipeline; release: () => void } {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const pipeline = new LocalPipeline({
    runsDir,
    bucket: 'local-artifacts',
    approvals: noApprovals,
    retryIntervalMs: 0,
    createHandler: () => async () => {
      await released;
      throw new Error('the step failed');
    },
  });
  return { pipeline, release };
}

function recorded(runsDir: string, runId: string): LocalRun {
  return JSON.parse(readFileSync(join(runsDir, `${runId}.json`), 'utf8')) as LocalRun;
}

const dirs: string[] = [];
function runsDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mlops-runs-'));
  dirs.push(dir);
  return join(dir, 'pipeline-runs');
}

afterEach(() => {
  vi.restoreAllMocks();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('LocalPipeline run records', () => {
  it('records a run when it starts and again when it ends', async () => {
    const dir = runsDir();
    const { pipeline, release } = blockedPipeline(dir);
    const { done } = pipeline.start({ run_id: 'run-1', model: 'credit' });
    expect(recorded(dir, 'run-1').status).toBe('running');
    release();
    const run = await done;
    expect(run.status).toBe('failed');
    expect(recorded(dir, 'run-1')).toMatchObject({ status: 'failed', error: { name: expect.any(String) } });
  });

  it('marks a run that was running when its process stopped as interrupted at the next start', async () => {
    const dir = runsDir();
    const first = blockedPipeline(dir);
    const { done } = first.pipeline.start({ run_id: 'run-2', model: 'credit' });
    first.pipeline.close();
    first.release();
    // The run ends in memory, but the stopped platform no longer writes its record.
    expect((await done).status).toBe('failed');
    expect(recorded(dir, 'run-2').status).toBe('running');

    const next = blockedPipeline(dir);
    expect(next.pipeline.get('run-2')).toMatchObject({ status: 'failed', error: { name: 'Interrupted' } });
    expect(recorded(dir, 'run-2')).toMatchObject({ status: 'failed', error: { name: 'Interrupted' } });
  });

  it('never rejects a run whose end cannot be written, so a run nobody awaits cannot stop the platform', async () => {
    const dir = runsDir();
    const { pipeline, release } = blockedPipeline(dir);
    const report = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const { done } = pipeline.start({ run_id: 'run-3', model: 'credit' });
    rmSync(dir, { recursive: true, force: true });
    release();
    const run = await done;
    expect(run.status).toBe('failed');
    expect(pipeline.get('run-3')?.status).toBe('failed');
    expect(existsSync(dir)).toBe(false);
    expect(report).toHaveBeenCalledWith(expect.stringContaining('pipeline run run-3 ended failed'), expect.anything());
  });

  it('writes nothing into a runs directory after it was closed, even for runs that end later', async () => {
    const dir = runsDir();
    const { pipeline, release } = blockedPipeline(dir);
    const { done } = pipeline.start({ run_id: 'run-4', model: 'credit' });
    pipeline.close();
    rmSync(dir, { recursive: true, force: true });
    release();
    expect((await done).status).toBe('failed');
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
  });
});
