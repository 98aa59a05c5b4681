import { hostname, userInfo } from 'node:os';
import type { Command } from 'commander';
import { connect, DEFAULT_LOCAL_DIR, DEFAULT_STACK_NAME, type Connection } from './connection.ts';
import type { Io } from './output.ts';

/**
 * What every command gets: where to write, whether to write JSON, who acts, and the
 * connection (opened on first use, closed when the program ends).
 */

export type Env = Readonly<Record<string, string | undefined>>;

export interface RunEnvironment {
  readonly io: Io;
  /** @default process.env */
  readonly env?: Env;
  /** Directory relative paths (--local-dir, files) are resolved against. @default process.cwd() */
  readonly cwd?: string;
  /** Waits between two looks at a running training run (tests make it instant). @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** The program's global options, as commander parses them. */
export interface GlobalOptions {
  readonly local?: boolean;
  readonly localDir?: string;
  readonly stack?: string;
  readonly region?: string;
  readonly json?: boolean;
  readonly actor?: string;
}

export interface CommandContext {
  readonly io: Io;
  readonly json: boolean;
  readonly cwd: string;
  /** Who is recorded in the audit trail for changes. */
  readonly actor: string;
  connect(): Promise<Connection>;
  sleep(ms: number): Promise<void>;
}

/** The OS account name, or undefined where the OS has none for this process (a uid without a passwd entry). */
function osUserName(): string | undefined {
  try {
    return userInfo().username || undefined;
  } catch {
    return undefined;
  }
}

/** `$USER@host`; without USER, USERNAME or LOGNAME (a container, cron, CI), the OS account name. */
export function defaultActor(env: Env, osUser: () => string | undefined = osUserName): string {
  const user = env.USER || env.USERNAME || env.LOGNAME || osUser() || 'unknown';
  return `${user}@${hostname()}`;
}

/** Builds command contexts for one run and closes what they opened. */
export class Session {
  private readonly opened: Connection[] = [];
  readonly io: Io;
  readonly env: Env;
  readonly cwd: string;
  readonly sleep: (ms: number) => Promise<void>;

  constructor(environment: RunEnvironment) {
    this.io = environment.io;
    this.env = environment.env ?? process.env;
    this.cwd = environment.cwd ?? process.cwd();
    this.sleep = environment.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  context(command: Command): CommandContext {
    const options = command.optsWithGlobals<GlobalOptions>();
    let connection: Promise<Connection> | undefined;
    return {
      io: this.io,
      json: options.json === true,
      cwd: this.cwd,
      sleep: this.sleep,
      actor: options.actor ?? this.env.MLOPS_ACTOR ?? defaultActor(this.env),
      connect: () => {
        connection ??= connect({
          local: options.local === true,
          localDir: options.localDir ?? this.env.MLOPS_LOCAL_DIR ?? DEFAULT_LOCAL_DIR,
          stack: options.stack ?? this.env.MLOPS_STACK ?? DEFAULT_STACK_NAME,
          region: options.region,
          cwd: this.cwd,
        }).then((opened) => {
          this.opened.push(opened);
          return opened;
        });
        return connection;
      },
    };
  }

  close(): void {
    for (const connection of this.opened.splice(0)) connection.close();
  }
}
