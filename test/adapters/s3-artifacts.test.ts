import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Client } from '@aws-sdk/client-s3';
import { S3ArtifactStore } from '#adapters/s3-artifacts.ts';
import { startS3, type RunningEmulator } from '../../local/emulators.ts';

const BUCKET = 'artifacts-test';
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

let dataDir: string;
let emulator: RunningEmulator;
let client: S3Client;
let store: S3ArtifactStore;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-artifacts-'));
  emulator = await startS3(dataDir, [BUCKET]);
  client = new S3Client({ endpoint: emulator.endpoint, region: 'us-east-1', credentials: CREDENTIALS, forcePathStyle: true });
  store = new S3ArtifactStore(client, BUCKET);
});

afterAll(async () => {
  client?.destroy();
  await emulator?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('S3ArtifactStore', () => {
  it('returns the identical bytes it stored', async () => {
    const bytes = new Uint8Array(randomBytes(64 * 1024));
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const key = `models/test/${sha256}.onnx`;
    await store.putArtifact(key, bytes, sha256, 'application/octet-stream');

    const read = await store.getArtifact(key);
    expect(read).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(read).equals(Buffer.from(bytes))).toBe(true);
    expect(createHash('sha256').update(read).digest('hex')).toBe(sha256);
  });

  it('returns the latest bytes after an overwrite', async () => {
    const key = 'models/test/overwritten.onnx';
    await store.putArtifact(key, new Uint8Array([1, 2, 3]), 'x', 'application/octet-stream');
    await store.putArtifact(key, new Uint8Array([4, 5]), 'y', 'application/octet-stream');
    expect([...(await store.getArtifact(key))]).toEqual([4, 5]);
  });

  it('rejects a key that does not exist', async () => {
    await expect(store.getArtifact('models/test/missing.onnx')).rejects.toMatchObject({ name: 'NoSuchKey' });
  });

  it('rejects a bucket that does not exist', async () => {
    const elsewhere = new S3ArtifactStore(client, 'no-such-bucket');
    await expect(elsewhere.getArtifact('models/test/any.onnx')).rejects.toThrow();
  });
});
