import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireStartLock, assertPortFree, LOCK_FILE_NAME, StartError } from '../../local/start-lock.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dirs: string[] = [];

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mlops-start-'));
  dirs.push(dir);
  return dir;
}

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

/** `npm start`'s script as npm runs it, with `env` added; it must fail before starting anything. */
function start(env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(join(ROOT, 'node_modules/.bin/tsx'), ['local/start.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

async function listening(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { server, port: address.port };
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('acquireStartLock', () => {
  it('refuses a data directory whose owner runs, naming its pid and port', () => {
    const dir = dataDir();
    acquireStartLock(dir, 3000, process.pid);
    expect(() => acquireStartLock(dir, 3001, process.pid + 1)).toThrow(StartError);
    expect(() => acquireStartLock(dir, 3001, process.pid + 1)).toThrow(`${dir} is in use by another npm start (pid ${process.pid}, port 3000)`);
  });

  it('takes over a lock whose process is gone, or that cannot be read, and releases only its own', () => {
    const dir = dataDir();
    const file = join(dir, LOCK_FILE_NAME);
    writeFileSync(file, JSON.stringify({ pid: deadPid(), port: 3000 }));
    const lock = acquireStartLock(dir, 3005, process.pid);
    lock.setPort(41234);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ pid: process.pid, port: 41234 });
    writeFileSync(file, 'not json');
    const again = acquireStartLock(dir, 3006, process.pid);
    writeFileSync(file, JSON.stringify({ pid: deadPid(), port: 1 }));
    again.release();
    expect(existsSync(file)).toBe(true);
    writeFileSync(file, JSON.stringify({ pid: process.pid, port: 1 }));
    again.release();
    expect(existsSync(file)).toBe(false);
  });
});

describe('assertPortFree', () => {
  it('suggests PORT= for a port in use, and accepts a free one', async () => {
    const { server, port } = await listening();
    try {
      await expect(assertPortFree(port)).rejects.toThrow(`port ${port} is in use: start on another one with PORT=${port + 1} npm start`);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    await expect(assertPortFree(port)).resolves.toBeUndefined();
  });
});

describe('npm start', () => {
  it('exits 1 with one line naming the pid and port of the npm start that has the data directory', () => {
    const dir = dataDir();
    // This test's own process stands for the first npm start: it is alive.
    writeFileSync(join(dir, LOCK_FILE_NAME), JSON.stringify({ pid: process.pid, port: 3123 }));
    const result = start({ MLOPS_LOCAL_DIR: dir, PORT: '0' });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`npm start: ${dir} is in use by another npm start (pid ${process.pid}, port 3123): stop it, or give this one another MLOPS_LOCAL_DIR\n`);
  });

  it('exits 1 with one line suggesting PORT= when the port is in use, and leaves no lock behind', async () => {
    const dir = dataDir();
    const { server, port } = await listening();
    try {
      const result = start({ MLOPS_LOCAL_DIR: dir, PORT: String(port) });
      expect(result.status).toBe(1);
      expect(result.stderr.trimEnd().split('\n')).toEqual([`npm start: port ${port} is in use: start on another one with PORT=${port + 1} npm start (PORT=0 picks a free one)`]);
      expect(existsSync(join(dir, LOCK_FILE_NAME))).toBe(false);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('exits 1 with one line for a bad PORT', () => {
    const result = start({ MLOPS_LOCAL_DIR: dataDir(), PORT: 'eighty' });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe('npm start: PORT must be an integer between 0 and 65535, got "eighty"\n');
  });
});
