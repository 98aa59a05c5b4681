import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RunningEmulator } from './emulators.ts';

/**
 * dynalite speaks DynamoDB's protocol but has no TransactWriteItems or TransactGetItems.
 * This proxy sits in front of it on 127.0.0.1 and adds them with DynamoDB's semantics, so
 * the registry's real `TransactWriteCommand` runs locally too:
 *
 * - all-or-nothing: the items are applied one by one with their own conditions; when one
 *   fails, those already applied are restored from before-images and the caller gets a
 *   `TransactionCanceledException` with one `CancellationReasons` entry per item;
 * - isolation between writers: every write operation that passes through (transactions,
 *   PutItem, UpdateItem, DeleteItem, BatchWriteItem) is serialised by one lock;
 * - idempotency: a `ClientRequestToken` seen in the last 10 minutes with the same request
 *   returns success without applying it again, and with a different request is refused
 *   with `IdempotentParameterMismatchException`.
 *
 * - crash atomicity (with a journal directory): before its first write, a transaction's
 *   before-images go to a write-ahead journal on disk (written, fsynced, renamed into place);
 *   the journal is removed once the transaction has applied or been undone. A process killed in
 *   between leaves the journal, and the next start restores the before-images before it serves:
 *   the transaction is all undone, never half-applied (its caller never heard it succeed).
 *
 * Readers outside a transaction may see a transaction half-applied; DynamoDB would not
 * show them that. The registry never relies on it: every decision is a conditional write.
 */

/** The journal of the transaction in flight: its items' keys and before-images, and the headers to replay them with. */
interface Journal {
  readonly headers: Record<string, string>;
  readonly items: readonly { readonly table: string; readonly key: AttributeMap; readonly before: AttributeMap | null }[];
}

const JOURNAL_FILE = 'transaction-journal.json';

/** Writes `text` to `path` durably: a temporary file, fsynced, renamed over it. */
function writeDurably(path: string, text: string): void {
  const temp = `${path}.tmp`;
  const fd = openSync(temp, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
}

const TARGET_PREFIX = 'DynamoDB_20120810.';
const WRITE_OPERATIONS = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem']);
const TOKEN_LIFETIME_MS = 10 * 60 * 1000;
const ERROR_PREFIX = 'com.amazonaws.dynamodb.v20120810#';

type AttributeMap = Record<string, unknown>;

interface DynamoResponse {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

interface TransactItem {
  readonly kind: 'Put' | 'Update' | 'Delete' | 'ConditionCheck';
  readonly request: Record<string, unknown>;
  readonly table: string;
  readonly key: AttributeMap;
}

function errorResponse(type: string, message: string, extra: Record<string, unknown> = {}): DynamoResponse {
  return { status: 400, body: { __type: `${ERROR_PREFIX}${type}`, message, ...extra } };
}

function errorType(response: DynamoResponse): string {
  const type = response.body.__type;
  return typeof type === 'string' ? type.slice(type.indexOf('#') + 1) : 'UnknownError';
}

/** A promise-chain mutex: one write at a time. */
class Lock {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work, work);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

class TransactionProxy {
  private readonly lock = new Lock();
  private readonly keySchemas = new Map<string, string[]>();
  private readonly tokens = new Map<string, { hash: string; expiresAt: number }>();
  private readonly journalPath: string | undefined;

  constructor(
    private readonly upstream: string,
    journalDir?: string,
  ) {
    if (journalDir !== undefined) mkdirSync(journalDir, { recursive: true });
    this.journalPath = journalDir === undefined ? undefined : join(journalDir, JOURNAL_FILE);
  }

  /** Undoes the transaction a killed process left in its journal; returns how many items were restored. */
  async recover(): Promise<number> {
    if (this.journalPath === undefined || !existsSync(this.journalPath)) return 0;
    let journal: Journal;
    try {
      journal = JSON.parse(readFileSync(this.journalPath, 'utf8')) as Journal;
    } catch {
      // Torn before the rename: the journal never became current, and nothing was written after it.
      rmSync(this.journalPath, { force: true });
      return 0;
    }
    for (const item of [...journal.items].reverse()) {
      const response =
        item.before === null
          ? await this.call('DeleteItem', { TableName: item.table, Key: item.key }, journal.headers)
          : await this.call('PutItem', { TableName: item.table, Item: item.before }, journal.headers);
      if (response.status !== 200) throw new Error(`could not undo an interrupted transaction: ${JSON.stringify(response.body)}`);
    }
    rmSync(this.journalPath, { force: true });
    return journal.items.length;
  }

  private journal(items: readonly TransactItem[], before: readonly (AttributeMap | undefined)[], headers: Record<string, string>): void {
    if (this.journalPath === undefined) return;
    const journal: Journal = { headers, items: items.map((item, i) => ({ table: item.table, key: item.key, before: before[i] ?? null })) };
    writeDurably(this.journalPath, JSON.stringify(journal));
  }

  private clearJournal(): void {
    if (this.journalPath !== undefined) rmSync(this.journalPath, { force: true });
  }

  /** Sends one DynamoDB operation to dynalite with the caller's headers. */
  async call(operation: string, body: unknown, headers: Record<string, string>): Promise<DynamoResponse> {
    const response = await fetch(this.upstream, {
      method: 'POST',
      headers: { ...headers, 'x-amz-target': `${TARGET_PREFIX}${operation}` },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
  }

  async handle(operation: string, rawBody: string, headers: Record<string, string>): Promise<DynamoResponse> {
    if (operation === 'TransactWriteItems') return this.lock.run(() => this.transactWrite(JSON.parse(rawBody), headers));
    if (operation === 'TransactGetItems') return this.lock.run(() => this.transactGet(JSON.parse(rawBody), headers));
    const forward = (): Promise<DynamoResponse> => this.call(operation, JSON.parse(rawBody), headers);
    return WRITE_OPERATIONS.has(operation) ? this.lock.run(forward) : forward();
  }

  private async keyAttributes(table: string, headers: Record<string, string>): Promise<string[]> {
    const known = this.keySchemas.get(table);
    if (known !== undefined) return known;
    const described = await this.call('DescribeTable', { TableName: table }, headers);
    const schema = (described.body.Table as { KeySchema?: { AttributeName: string }[] } | undefined)?.KeySchema;
    if (schema === undefined) throw new Error(`table ${table} not found`);
    const names = schema.map((k) => k.AttributeName);
    this.keySchemas.set(table, names);
    return names;
  }

  private async parseItems(items: unknown, headers: Record<string, string>): Promise<TransactItem[] | DynamoResponse> {
    if (!Array.isArray(items) || items.length === 0 || items.length > 100) {
      return errorResponse('ValidationException', 'TransactItems must hold 1 to 100 items');
    }
    const parsed: TransactItem[] = [];
    const seen = new Set<string>();
    for (const entry of items as Record<string, Record<string, unknown>>[]) {
      const kind = (['Put', 'Update', 'Delete', 'ConditionCheck'] as const).find((k) => entry[k] !== undefined);
      if (kind === undefined) return errorResponse('ValidationException', 'each TransactItem needs Put, Update, Delete or ConditionCheck');
      const request = entry[kind] as Record<string, unknown>;
      const table = String(request.TableName);
      let key: AttributeMap;
      if (kind === 'Put') {
        const item = request.Item as AttributeMap;
        key = Object.fromEntries((await this.keyAttributes(table, headers)).map((name) => [name, item[name]]));
      } else {
        key = request.Key as AttributeMap;
      }
      const identity = `${table}|${JSON.stringify(key)}`;
      if (seen.has(identity)) {
        return errorResponse('ValidationException', 'Transaction request cannot include multiple operations on one item');
      }
      seen.add(identity);
      parsed.push({ kind, request, table, key });
    }
    return parsed;
  }

  private async transactWrite(body: Record<string, unknown>, headers: Record<string, string>): Promise<DynamoResponse> {
    const token = typeof body.ClientRequestToken === 'string' ? body.ClientRequestToken : undefined;
    const requestHash = createHash('sha256').update(JSON.stringify(body.TransactItems)).digest('hex');
    const now = Date.now();
    for (const [t, entry] of this.tokens) if (entry.expiresAt <= now) this.tokens.delete(t);
    if (token !== undefined) {
      const previous = this.tokens.get(token);
      if (previous !== undefined) {
        return previous.hash === requestHash
          ? { status: 200, body: {} }
          : errorResponse('IdempotentParameterMismatchException', 'the ClientRequestToken was used with a different request');
      }
    }

    const items = await this.parseItems(body.TransactItems, headers);
    if (!Array.isArray(items)) return items;

    const before: (AttributeMap | undefined)[] = [];
    for (const item of items) {
      const got = await this.call('GetItem', { TableName: item.table, Key: item.key, ConsistentRead: true }, headers);
      if (got.status !== 200) return got;
      before.push(got.body.Item as AttributeMap | undefined);
    }

    this.journal(items, before, headers);
    try {
      return await this.applyItems(items, before, headers, token, requestHash, now);
    } finally {
      // Applied or undone: either way nothing is left to recover.
      this.clearJournal();
    }
  }

  private async applyItems(
    items: readonly TransactItem[],
    before: readonly (AttributeMap | undefined)[],
    headers: Record<string, string>,
    token: string | undefined,
    requestHash: string,
    now: number,
  ): Promise<DynamoResponse> {
    const restore = async (count: number): Promise<void> => {
      for (let i = count - 1; i >= 0; i--) {
        const item = items[i] as TransactItem;
        const image = before[i];
        if (image === undefined) await this.call('DeleteItem', { TableName: item.table, Key: item.key }, headers);
        else await this.call('PutItem', { TableName: item.table, Item: image }, headers);
      }
    };

    for (let i = 0; i < items.length; i++) {
      const item = items[i] as TransactItem;
      const { ReturnValuesOnConditionCheckFailure: returnOld, ...request } = item.request;
      const operation = { Put: 'PutItem', Update: 'UpdateItem', Delete: 'DeleteItem', ConditionCheck: 'UpdateItem' }[item.kind];
      const response = await this.call(operation, request, headers);
      if (response.status === 200) {
        // A condition check must leave the item as it was: the no-op update above may have created it.
        if (item.kind === 'ConditionCheck') {
          const image = before[i];
          if (image === undefined) await this.call('DeleteItem', { TableName: item.table, Key: item.key }, headers);
        }
        continue;
      }
      await restore(i);
      if (errorType(response) !== 'ConditionalCheckFailedException') return response;
      const reasons = items.map((_, j) =>
        j === i
          ? {
              Code: 'ConditionalCheckFailed',
              Message: 'The conditional request failed',
              ...(returnOld === 'ALL_OLD' && before[j] !== undefined ? { Item: before[j] } : {}),
            }
          : { Code: 'None' },
      );
      return errorResponse(
        'TransactionCanceledException',
        `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(', ')}]`,
        { CancellationReasons: reasons },
      );
    }
    if (token !== undefined) this.tokens.set(token, { hash: requestHash, expiresAt: now + TOKEN_LIFETIME_MS });
    return { status: 200, body: {} };
  }

  private async transactGet(body: Record<string, unknown>, headers: Record<string, string>): Promise<DynamoResponse> {
    const items = body.TransactItems;
    if (!Array.isArray(items) || items.length === 0 || items.length > 100) {
      return errorResponse('ValidationException', 'TransactItems must hold 1 to 100 items');
    }
    const responses: Record<string, unknown>[] = [];
    for (const entry of items as { Get: Record<string, unknown> }[]) {
      const got = await this.call('GetItem', { ...entry.Get, ConsistentRead: true }, headers);
      if (got.status !== 200) return got;
      responses.push(got.body.Item === undefined ? {} : { Item: got.body.Item });
    }
    return { status: 200, body: { Responses: responses } };
  }
}

function forwardableHeaders(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of ['authorization', 'x-amz-date', 'x-amz-security-token', 'content-type']) {
    const value = request.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  return headers;
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function send(response: ServerResponse, result: DynamoResponse): void {
  const payload = JSON.stringify(result.body);
  response.writeHead(result.status, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': Buffer.byteLength(payload),
    'x-amzn-requestid': createHash('sha1').update(`${Date.now()}${Math.random()}`).digest('hex').slice(0, 32),
  });
  response.end(payload);
}

export interface TransactionProxyOptions {
  /**
   * Where the write-ahead journal lives (beside dynalite's data); a transaction a killed process left half-applied is
   * undone at start. @default - no journal: transactions are atomic only while the process lives
   */
  readonly journalDir?: string;
}

/**
 * Starts the proxy in front of a running dynalite; its endpoint is what the SDK should use. With a journal directory,
 * it first undoes the transaction a killed process left half-applied.
 */
export async function startTransactionProxy(upstream: RunningEmulator, options: TransactionProxyOptions = {}): Promise<RunningEmulator> {
  const proxy = new TransactionProxy(upstream.endpoint, options.journalDir);
  await proxy.recover();
  const server = createServer((request, response) => {
    const target = request.headers['x-amz-target'];
    const operation = typeof target === 'string' && target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
    readBody(request)
      .then((body) => proxy.handle(operation, body, forwardableHeaders(request)))
      .then((result) => send(response, result))
      .catch((error: unknown) =>
        send(response, {
          status: 500,
          body: { __type: `${ERROR_PREFIX}InternalServerError`, message: error instanceof Error ? error.message : String(error) },
        }),
      );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
