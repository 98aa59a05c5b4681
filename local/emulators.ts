import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import dynalite from 'dynalite';
import S3rver from 's3rver';
import { atomicPuts, s3rverFixes } from './s3rver-fixes.ts';

/**
 * The AWS protocol servers the local platform runs in-process on 127.0.0.1:
 * dynalite for DynamoDB and s3rver for S3. Data lives under `dataDir` and survives restarts.
 */

export interface RunningEmulator {
  /** Base URL to give the SDK as its endpoint override. */
  readonly endpoint: string;
  close(): Promise<void>;
}

export async function startDynamoDb(dataDir: string, port = 0): Promise<RunningEmulator> {
  const path = join(dataDir, 'dynamodb');
  mkdirSync(path, { recursive: true });
  const server = dynalite({ path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${bound}`,
    close: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}

export async function startS3(dataDir: string, buckets: readonly string[], port = 0): Promise<RunningEmulator> {
  const directory = join(dataDir, 's3');
  mkdirSync(directory, { recursive: true });
  const server = new S3rver({
    address: '127.0.0.1',
    port,
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  // After s3rver's logger and XML encoder, before its router (see s3rver-fixes.ts).
  server.middleware.splice(2, 0, s3rverFixes());
  await atomicPuts(server.store, directory);
  const { port: bound } = await server.run();
  return { endpoint: `http://127.0.0.1:${bound}`, close: () => server.close() };
}
