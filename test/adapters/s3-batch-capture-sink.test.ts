import { afterEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { S3BatchCaptureSink, S3CaptureStore } from '#adapters/s3-captures.ts';
import type { CaptureRecord } from '#core/capture/records.ts';

/** The local capture sink with S3 faults injected: slow, down. */

const record = (i: number): CaptureRecord => ({
  request_id: `r-${i}`,
  row: 0,
  model: 'credit',
  model_version: 1,
  variant: 'production',
  captured_at: '2026-12-01T08:00:00.000Z',
  features: { Income: i },
  prediction: { label: 'good', probability: 0.25 },
});

const clients: S3Client[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.destroy();
});

function faultyStore(behaviour: 'hang' | 'fail'): { store: S3CaptureStore; puts: () => number } {
  const client = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  clients.push(client);
  const mock = mockClient(client);
  let puts = 0;
  mock.on(PutObjectCommand).callsFake(() => {
    puts++;
    return behaviour === 'hang' ? new Promise(() => undefined) : Promise.reject(Object.assign(new Error('down'), { name: 'ServiceUnavailable' }));
  });
  return { store: new S3CaptureStore(client, 'captures'), puts: () => puts };
}

describe('S3BatchCaptureSink', () => {
  it('never makes a put wait for a flush, even when S3 never answers', async () => {
    const { store, puts } = faultyStore('hang');
    const sink = new S3BatchCaptureSink(store, { maxRecords: 10, flushIntervalMs: 60_000 });
    // 50 puts past the flush threshold: each resolves although the write it started never does.
    for (let i = 0; i < 50; i++) await sink.put([record(i)]);
    expect(puts()).toBeGreaterThan(0);
    expect(sink.pending).toBe(40);
  });

  it('holds at most maxBufferedRecords while S3 is down, and counts what it drops', async () => {
    const { store } = faultyStore('fail');
    const dropped: number[] = [];
    const sink = new S3BatchCaptureSink(store, { maxRecords: 1_000_000, maxBufferedRecords: 100, flushIntervalMs: 60_000, onDrop: (n) => dropped.push(n) });
    for (let i = 0; i < 130; i++) await sink.put([record(i)]);
    expect(sink.pending).toBe(100);
    expect(sink.dropped).toBe(30);
    expect(dropped.reduce((a, b) => a + b, 0)).toBe(30);
    // A failed flush keeps its records for the next one, still within the bound.
    await expect(sink.flush()).rejects.toThrow('down');
    expect(sink.pending).toBe(100);
    await sink.put([record(999)]);
    expect(sink.pending).toBe(100);
    expect(sink.dropped).toBe(31);
  });
});
