import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startS3, type RunningEmulator } from '../../local/emulators.ts';
import { keyFitsS3rver } from '../../local/s3rver-fixes.ts';

/** The local S3 (s3rver with local/s3rver-fixes.ts) against the behaviours the platform relies on. */

const BUCKET = 's3rver-fixes';
let dataDir: string;
let s3: RunningEmulator;
let client: S3Client;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-s3rver-'));
  s3 = await startS3(dataDir, [BUCKET]);
  client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, forcePathStyle: true });
});

afterAll(async () => {
  client?.destroy();
  await s3?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('local S3', () => {
  it('pages a ListObjectsV2 listing with continuation tokens to the last key', async () => {
    // Prepare: 25 objects, listed 10 at a time (s3rver pages at min(MaxKeys, 1,000): the path a 1,001-object partition takes).
    const keys = Array.from({ length: 25 }, (_, i) => `paged/part=${String(i).padStart(3, '0')}.json`);
    for (const key of keys) await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: '{}' }));
    // Act
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'paged/', MaxKeys: 10, ContinuationToken: token }));
      pages++;
      for (const object of page.Contents ?? []) seen.push(object.Key ?? '');
      expect(page.KeyCount).toBe(page.Contents?.length ?? 0);
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    // Assess
    expect(pages).toBe(3);
    expect(seen).toEqual(keys);
  });

  it('shows an overwritten object whole, old or new, to readers while it is rewritten', async () => {
    const versions = ['a', 'b', 'c', 'd'].map((ch) => ch.repeat(2 * 1024 * 1024));
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'torn/report.html', Body: versions[0] }));
    const reads: Promise<string>[] = [];
    const writes = (async () => {
      for (const body of versions.slice(1)) await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'torn/report.html', Body: body }));
    })();
    for (let i = 0; i < 12; i++) {
      reads.push(client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'torn/report.html' })).then(async (r) => (await r.Body?.transformToString()) ?? ''));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await writes;
    for (const text of await Promise.all(reads)) expect(versions).toContain(text);
  });

  it('refuses a key whose file name s3rver cannot write with KeyTooLongError, and keeps serving', async () => {
    for (const key of [`long/${'€'.repeat(80)}`, `long/${'a'.repeat(240)}`, `x/${'a/'.repeat(600)}`]) {
      expect(keyFitsS3rver(key)).toBe(false);
      await expect(client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'data' }))).rejects.toMatchObject({ name: 'KeyTooLongError' });
    }
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'long/ok', Body: 'still here' }));
    const { Body } = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'long/ok' }));
    expect(await Body?.transformToString()).toBe('still here');
  });
});
