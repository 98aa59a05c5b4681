import { InvalidArgumentError, type Command } from 'commander';
import { LOCAL_ROUTES, routePath, type RouteSpec } from '#contracts/routes.ts';
import type { Session } from '../context.ts';
import { CliError, HttpApiError } from '../errors.ts';
import { emit, formatTable } from '../output.ts';

/** A key as the local platform answers it (`local/api-keys.ts`). */
interface LocalKey {
  readonly id: string;
  readonly consumer: string;
  readonly value: string;
  readonly created_at: string;
  readonly expires_at?: string;
}

function parseOverlap(value: string): number {
  const seconds = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(seconds)) throw new InvalidArgumentError('the overlap is a whole number of seconds from 0 up.');
  return seconds;
}

const keyTable = (keys: readonly LocalKey[]): string =>
  formatTable(
    ['consumer', 'key id', 'key', 'created', 'valid until'],
    keys.map((k) => [k.consumer, k.id, k.value, k.created_at, k.expires_at ?? '-']),
  );

/**
 * `mlops --local keys list|rotate`: the API consumers' keys of the local platform (`api.consumers` of `MLOPS_CONFIG_FILE`).
 * In AWS a key rotation is a config change and a deploy (docs/operations/api-key-rotation.md), not a CLI call.
 */
export function keysCommand(program: Command, session: Session): void {
  const keys = program.command('keys').description("API consumers' keys of the local platform: list them, rotate one with an overlap");

  async function call<T>(command: Command, route: RouteSpec, body?: unknown): Promise<T> {
    const context = session.context(command);
    const connection = await context.connect();
    if (!connection.local) {
      throw new CliError('keys works with --local only: in AWS a rotation is a config change and a deploy (docs/operations/api-key-rotation.md)', 2);
    }
    const endpoint = await connection.api();
    const response = await fetch(`${endpoint.url.replace(/\/+$/, '')}${routePath(route)}`, {
      method: route.method,
      headers: { 'x-api-key': endpoint.apiKey, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    const answer = JSON.parse(text === '' ? '{}' : text) as T & { error?: { code: string; message: string } };
    if (!response.ok) throw new HttpApiError(response.status, answer.error?.code ?? 'HTTP_ERROR', answer.error?.message ?? text);
    return answer;
  }

  keys
    .command('list')
    .description("the consumers' keys still valid (values included: the local platform is yours)")
    .action(async (_options: unknown, command: Command) => {
      const answer = await call<{ keys: LocalKey[] }>(command, LOCAL_ROUTES.listApiKeys);
      const context = session.context(command);
      emit(context.io, context.json, answer, () => (answer.keys.length === 0 ? 'no API consumers (MLOPS_CONFIG_FILE with api.consumers for npm start)\n' : keyTable(answer.keys)));
    });
  keys
    .command('rotate')
    .description('issue a new key for a consumer; its current key keeps working for the overlap, then stops')
    .requiredOption('--consumer <name>', 'the consumer (api.consumers)')
    .requiredOption('--overlap-seconds <seconds>', 'how long the current key keeps working (0: it stops now)', parseOverlap)
    .action(async (options: { consumer: string; overlapSeconds: number }, command: Command) => {
      const answer = await call<{ consumer: string; key: LocalKey; previous: LocalKey[] }>(command, LOCAL_ROUTES.rotateApiKey, {
        consumer: options.consumer,
        overlap_seconds: options.overlapSeconds,
      });
      const context = session.context(command);
      emit(context.io, context.json, answer, () => `new key of ${answer.consumer}: ${answer.key.value}\n${keyTable([answer.key, ...answer.previous])}`);
    });
}
