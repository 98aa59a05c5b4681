import { describe, expect, it } from 'vitest';
import { INVARIANTS, checkModel, runDoctor, type DoctorFinding, type DoctorSource } from '#core/registry/doctor.ts';
import type { AuditRecord, ModelRecord, ModelVersionRecord, Stage } from '#core/registry/records.ts';
import { artifact, metadata } from '../../support/registry-store-contract.ts';

/**
 * The registry's invariants checked from what it stores (`mlops doctor`, the crash harness), over a source built by
 * hand: each invariant broken on its own, and named with the model, the version and a message saying what is wrong.
 */

const at = '2026-12-01T08:00:00.000Z';

function model(name: string, fields: Partial<ModelRecord> = {}): ModelRecord {
  return {
    model: name,
    description: '',
    production_version: null,
    canary: null,
    shadow_version: null,
    previous_production_versions: [],
    latest_version: 0,
    revision: 0,
    created_at: at,
    updated_at: at,
    ...fields,
  };
}

function version(name: string, n: number, stage: Stage = 'candidate', deleted = false): ModelVersionRecord {
  return { model: name, version: n, stage, artifact: artifact(n), metadata, created_at: at, created_by: 'tester', deleted_at: deleted ? at : null };
}

function applied(name: string, count: number, others: AuditRecord['outcome'][] = []): AuditRecord[] {
  const record = (i: number, outcome: AuditRecord['outcome']): AuditRecord => ({
    model: name,
    at,
    actor: 'tester',
    action: 'register',
    version: null,
    from: null,
    to: null,
    reason: '',
    outcome,
    client_token: `t${i}-${outcome}`,
  });
  return [...Array.from({ length: count }, (_, i) => record(i, 'applied')), ...others.map((o, i) => record(i, o))];
}

interface Stored {
  readonly model: ModelRecord;
  readonly versions: ModelVersionRecord[];
  readonly audit: AuditRecord[];
}

/** A doctor source over hand-made records; `objects` (key → sha256) makes it check artifacts. */
function source(stored: Stored[], objects?: Map<string, string>): DoctorSource & { readonly sha256Reads: string[] } {
  const byName = new Map(stored.map((s) => [s.model.model, s]));
  const sha256Reads: string[] = [];
  return {
    sha256Reads,
    listModels: async () => stored.map((s) => s.model),
    listVersions: async (name) => byName.get(name)?.versions ?? [],
    history: async (name) => byName.get(name)?.audit ?? [],
    ...(objects === undefined
      ? {}
      : {
          artifactSha256: async (key: string) => {
            sha256Reads.push(key);
            return objects.get(key);
          },
        }),
  };
}

/** A consistent model: v1 archived, v2 production, v3 canary (staging), v4 shadow (candidate), v5 deleted. */
function healthy(name: string): Stored {
  return {
    model: model(name, {
      production_version: 2,
      canary: { version: 3, share: 0.1 },
      shadow_version: 4,
      previous_production_versions: [1],
      latest_version: 5,
      revision: 9,
    }),
    versions: [version(name, 1, 'archived'), version(name, 2, 'production'), version(name, 3, 'staging'), version(name, 4), version(name, 5, 'candidate', true)],
    audit: applied(name, 9, ['refused', 'conflict']),
  };
}

function intactObjects(stored: Stored): Map<string, string> {
  return new Map(stored.versions.map((v) => [v.artifact.key, v.artifact.sha256]));
}

async function findings(stored: Stored, objects?: Map<string, string>): Promise<DoctorFinding[]> {
  return checkModel(source([stored], objects), stored.model);
}

describe('checkModel', () => {
  it('finds nothing wrong with a consistent model: refused and conflicting audit entries do not count as revisions', async () => {
    const stored = healthy('fine');
    expect(await findings(stored, intactObjects(stored))).toEqual([]);
    expect(await findings({ model: model('empty'), versions: [], audit: [] })).toEqual([]);
  });

  it('one-production-version: names every version at stage production when there are several', async () => {
    const stored = healthy('twice');
    stored.versions[0] = version('twice', 1, 'production');
    const found = await findings(stored);
    expect(found).toContainEqual({ invariant: 'one-production-version', model: 'twice', message: 'versions 1, 2 are all at stage production' });
    expect(found).toContainEqual({
      invariant: 'stages-match-pointers',
      model: 'twice',
      version: 1,
      message: 'version 1 is at stage production but the production pointer is 2',
    });
    expect(found).toHaveLength(2);
  });

  it('stages-match-pointers: a production pointer to a version that does not exist', async () => {
    const stored = { ...healthy('dangling'), model: model('dangling', { ...healthy('dangling').model, production_version: 7 }) };
    expect(await findings(stored)).toEqual([
      { invariant: 'stages-match-pointers', model: 'dangling', version: 7, message: 'the production pointer names version 7, which does not exist' },
      { invariant: 'stages-match-pointers', model: 'dangling', version: 2, message: 'version 2 is at stage production but the production pointer is 7' },
    ]);
  });

  it('stages-match-pointers: a production pointer to a version at another stage, or deleted', async () => {
    const other = healthy('staged');
    other.versions[1] = version('staged', 2, 'archived');
    expect(await findings(other)).toEqual([
      { invariant: 'stages-match-pointers', model: 'staged', version: 2, message: 'the production pointer names version 2, which is at stage archived' },
    ]);

    const deleted = healthy('gone');
    deleted.versions[1] = version('gone', 2, 'production', true);
    expect(await findings(deleted)).toEqual([
      { invariant: 'stages-match-pointers', model: 'gone', version: 2, message: 'the production pointer names version 2, which is at stage production and deleted' },
    ]);
  });

  it('stages-match-pointers: a version at stage production while no production pointer is set', async () => {
    const stored: Stored = { model: model('unpointed', { latest_version: 1, revision: 1 }), versions: [version('unpointed', 1, 'production')], audit: applied('unpointed', 1) };
    expect(await findings(stored)).toEqual([
      { invariant: 'stages-match-pointers', model: 'unpointed', version: 1, message: 'version 1 is at stage production but the production pointer is none' },
    ]);
  });

  it('stages-match-pointers: a canary that is missing, not at stage staging, or deleted', async () => {
    const missing = { ...healthy('c-missing'), model: model('c-missing', { ...healthy('c-missing').model, canary: { version: 8, share: 0.2 } }) };
    expect(await findings(missing)).toEqual([
      { invariant: 'stages-match-pointers', model: 'c-missing', version: 8, message: 'the canary names version 8, which is missing' },
    ]);

    const candidate = healthy('c-stage');
    candidate.versions[2] = version('c-stage', 3, 'candidate');
    expect(await findings(candidate)).toEqual([
      { invariant: 'stages-match-pointers', model: 'c-stage', version: 3, message: 'the canary names version 3, which is at stage candidate' },
    ]);

    const deleted = healthy('c-deleted');
    deleted.versions[2] = version('c-deleted', 3, 'staging', true);
    expect(await findings(deleted)).toEqual([
      { invariant: 'stages-match-pointers', model: 'c-deleted', version: 3, message: 'the canary names version 3, which is at stage staging and deleted' },
    ]);
  });

  it('stages-match-pointers: a shadow that is missing or deleted, whatever its stage', async () => {
    const missing = { ...healthy('s-missing'), model: model('s-missing', { ...healthy('s-missing').model, shadow_version: 9 }) };
    expect(await findings(missing)).toEqual([
      { invariant: 'stages-match-pointers', model: 's-missing', version: 9, message: 'the shadow names version 9, which is missing or deleted' },
    ]);

    const deleted = healthy('s-deleted');
    deleted.versions[3] = version('s-deleted', 4, 'candidate', true);
    expect(await findings(deleted)).toEqual([
      { invariant: 'stages-match-pointers', model: 's-deleted', version: 4, message: 'the shadow names version 4, which is missing or deleted' },
    ]);
  });

  it('stages-match-pointers: latest_version below a version that exists, and not when equal or above', async () => {
    const behind = { ...healthy('behind'), model: model('behind', { ...healthy('behind').model, latest_version: 4 }) };
    expect(await findings(behind)).toEqual([
      { invariant: 'stages-match-pointers', model: 'behind', message: 'latest_version is 4 but version 5 exists' },
    ]);
    const ahead = { ...healthy('ahead'), model: model('ahead', { ...healthy('ahead').model, latest_version: 6 }) };
    expect(await findings(ahead)).toEqual([]);
  });

  it('one-audit-per-revision: more or fewer applied entries than the revision', async () => {
    const fewer = { ...healthy('fewer'), audit: applied('fewer', 8, ['refused']) };
    expect(await findings(fewer)).toEqual([
      { invariant: 'one-audit-per-revision', model: 'fewer', message: 'the model is at revision 9 but its audit trail has 8 applied entries' },
    ]);
    const more = { ...healthy('more'), audit: applied('more', 10) };
    expect(await findings(more)).toEqual([
      { invariant: 'one-audit-per-revision', model: 'more', message: 'the model is at revision 9 but its audit trail has 10 applied entries' },
    ]);
  });

  it('artifact-intact: a live artifact that cannot be read or has another sha256; deleted versions are not read', async () => {
    const stored = healthy('bytes');
    const objects = intactObjects(stored);
    objects.delete(artifact(1).key);
    objects.set(artifact(2).key, 'f'.repeat(64));
    objects.delete(artifact(5).key);
    const src = source([stored], objects);
    expect(await checkModel(src, stored.model)).toEqual([
      { invariant: 'artifact-intact', model: 'bytes', version: 1, message: `the artifact of version 1 (${artifact(1).key}) cannot be read` },
      {
        invariant: 'artifact-intact',
        model: 'bytes',
        version: 2,
        message: `the artifact of version 2 has sha256 ${'f'.repeat(64)}, not the recorded ${artifact(2).sha256}`,
      },
    ]);
    expect(src.sha256Reads).toEqual([1, 2, 3, 4].map((n) => artifact(n).key));
  });
});

describe('runDoctor', () => {
  it('checks every model, counts models and versions, and lists the invariants it checked', async () => {
    const a = healthy('alpha');
    const b: Stored = { model: model('beta', { latest_version: 2, revision: 2 }), versions: [version('beta', 1), version('beta', 2)], audit: applied('beta', 2) };
    const report = await runDoctor(source([a, b]));
    expect(report).toEqual({
      healthy: true,
      models: 2,
      versions: 7,
      checked: ['one-production-version', 'stages-match-pointers', 'one-audit-per-revision'],
      findings: [],
    });
  });

  it('checks artifacts only when the source can read them, and the local objects only when the caller did', async () => {
    const a = healthy('alpha');
    expect((await runDoctor(source([a], intactObjects(a)))).checked).toEqual(INVARIANTS.filter((i) => i !== 'no-object-without-metadata'));
    expect((await runDoctor(source([a]), { findings: [] })).checked).toEqual(INVARIANTS.filter((i) => i !== 'artifact-intact'));
    expect((await runDoctor(source([a], intactObjects(a)), { findings: [] })).checked).toEqual([...INVARIANTS]);
  });

  it('is unhealthy with the findings of every model, then the caller’s own, in that order', async () => {
    const a = { ...healthy('alpha'), audit: applied('alpha', 8) };
    const b = { ...healthy('beta'), model: model('beta', { ...healthy('beta').model, shadow_version: 9 }) };
    const extra: DoctorFinding = { invariant: 'no-object-without-metadata', message: 'object models/x.onnx has no metadata' };
    const report = await runDoctor(source([a, b]), { findings: [extra] });
    expect(report.healthy).toBe(false);
    expect(report.findings.map((f) => [f.invariant, f.model])).toEqual([
      ['one-audit-per-revision', 'alpha'],
      ['stages-match-pointers', 'beta'],
      ['no-object-without-metadata', undefined],
    ]);
  });

  it('is unhealthy with only the caller’s findings, and healthy over an empty registry', async () => {
    const extra: DoctorFinding = { invariant: 'no-object-without-metadata', message: 'object models/x.onnx has no metadata' };
    expect(await runDoctor(source([]), { findings: [extra] })).toMatchObject({ healthy: false, models: 0, versions: 0, findings: [extra] });
    expect(await runDoctor(source([]))).toMatchObject({ healthy: true, models: 0, versions: 0, findings: [] });
  });
});
