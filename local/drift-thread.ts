import { Worker } from 'node:worker_threads';
import type { DriftEvent } from '#core/drift/events.ts';
import type { DriftWorkerData, DriftWorkerMessage, DriftWorkerRequest } from './drift-worker.ts';

type Outcome = Extract<DriftWorkerMessage, { kind: 'result' }>['outcome'];

/** The drift job on a thread of its own (local/drift-worker.ts), started at its first run. */
export interface DriftThread {
  /** Runs the drift job handler on `input` in the thread; its events reach `publish` before the result. */
  run(input: Record<string, unknown>): Promise<Outcome>;
  /** The thread's id once started (never the main thread's 0), for tests and logs. */
  readonly threadId: number | undefined;
  close(): Promise<void>;
}

/**
 * Starts the drift job's thread on demand. The thread loads TypeScript through tsx, as `npm start` does; it is
 * unref'd so that it never holds the process open by itself, and terminated by `close`.
 */
export function driftThread(data: DriftWorkerData, publish: (events: readonly DriftEvent[]) => Promise<void>): DriftThread {
  let worker: Worker | undefined;
  let nextId = 0;
  const pending = new Map<number, { resolve: (outcome: Outcome) => void; reject: (error: Error) => void }>();
  const failAll = (error: Error): void => {
    for (const { reject } of pending.values()) reject(error);
    pending.clear();
    worker = undefined; // the next run starts a new thread
  };
  const start = (): Worker => {
    const started = new Worker(new URL('./drift-worker.ts', import.meta.url), { workerData: data, execArgv: ['--import', 'tsx'] });
    started.unref();
    started.on('message', (message: DriftWorkerMessage) => {
      if (message.kind === 'events') {
        void publish(message.events);
        return;
      }
      const waiting = pending.get(message.id);
      pending.delete(message.id);
      if (message.kind === 'result') waiting?.resolve(message.outcome);
      else waiting?.reject(new Error(message.message));
    });
    started.on('error', (error) => failAll(error));
    started.on('exit', (code) => failAll(new Error(`the drift thread exited with code ${code}`)));
    return started;
  };
  return {
    run(input) {
      worker ??= start();
      const id = ++nextId;
      const outcome = new Promise<Outcome>((resolve, reject) => pending.set(id, { resolve, reject }));
      worker.postMessage({ id, input } satisfies DriftWorkerRequest);
      return outcome;
    },
    get threadId() {
      return worker?.threadId;
    },
    async close() {
      const running = worker;
      worker = undefined;
      if (running !== undefined) await running.terminate();
    },
  };
}
