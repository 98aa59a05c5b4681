import { createServer } from 'node:net';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What keeps two `npm start` off one data directory: dynalite and s3rver both write there, and a second process
 * on the same files fails deep inside dynalite (`Database is closed`). `<dataDir>/npm-start.lock` holds the pid
 * and port of the process that owns the directory; a lock whose process is gone is stale and taken over.
 */

export const LOCK_FILE_NAME = 'npm-start.lock';

export interface StartLock {
  readonly pid: number;
  /** The port the API listens on (the requested one until the gateway is up). */
  readonly port: number;
}

/** A start refused for a reason the user can act on: printed as one line, exit status 1. */
export class StartError extends Error {
  override readonly name = 'StartError';
}

/** Whether process `pid` is running (signal 0 checks without signalling; EPERM means it runs as another user). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLock(file: string): StartLock | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<StartLock>;
    return Number.isInteger(parsed.pid) && Number.isInteger(parsed.port) ? { pid: parsed.pid as number, port: parsed.port as number } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Takes the data directory for this process, or throws a {@link StartError} naming the running owner's pid and
 * port. An unreadable lock, or one whose process is gone, is taken over. Returns a function that updates the port
 * (once the gateway listens) and one that releases the lock, if it is still ours.
 */
export function acquireStartLock(dataDir: string, port: number, pid: number = process.pid): { setPort: (port: number) => void; release: () => void } {
  const file = join(dataDir, LOCK_FILE_NAME);
  const write = (lock: StartLock, flag: 'wx' | 'w'): void => writeFileSync(file, `${JSON.stringify(lock)}\n`, { flag });
  for (let attempt = 0; ; attempt++) {
    try {
      write({ pid, port }, 'wx');
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
      const owner = readLock(file);
      if (owner !== undefined && owner.pid !== pid && isAlive(owner.pid)) {
        throw new StartError(
          `${dataDir} is in use by another npm start (pid ${owner.pid}, port ${owner.port}): stop it, or give this one another MLOPS_LOCAL_DIR`,
        );
      }
      rmSync(file, { force: true });
    }
  }
  return {
    setPort: (actual) => write({ pid, port: actual }, 'w'),
    release: () => {
      if (readLock(file)?.pid === pid) rmSync(file, { force: true });
    },
  };
}

/** Throws a {@link StartError} suggesting `PORT=` when `port` is taken on 127.0.0.1 (0 always is free). */
export async function assertPortFree(port: number, host = '127.0.0.1'): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'EADDRINUSE' || error.code === 'EACCES' ? portError(port, error.code) : error);
    });
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

/** The one line for a port npm start cannot listen on. */
export function portError(port: number, code: string): StartError {
  const why = code === 'EACCES' ? 'needs privileges' : 'is in use';
  return new StartError(`port ${port} ${why}: start on another one with PORT=${port === 65535 ? 3000 : port + 1} npm start (PORT=0 picks a free one)`);
}
