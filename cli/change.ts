import type { Command } from 'commander';
import type { ChangeOutcome, ChangeRequest } from '#core/registry/registry-service.ts';
import type { ModelRecord } from '#core/registry/records.ts';
import { parseRevision } from './arguments.ts';
import type { CommandContext } from './context.ts';
import { emit } from './output.ts';

/** The options every registry change takes, and how its outcome is reported. */

export interface ChangeOptions {
  readonly model: string;
  readonly reason?: string;
  readonly clientToken?: string;
  readonly expectedRevision?: number;
}

/**
 * Adds `--model`, `--reason`, `--client-token` and `--expected-revision` to a change command
 * (`--model` is optional where the command checks it itself).
 */
export function changeCommand(command: Command, options: { readonly modelRequired?: boolean } = {}): Command {
  const withModel =
    options.modelRequired === false ? command.option('-m, --model <name>', 'model name') : command.requiredOption('-m, --model <name>', 'model name');
  return withModel
    .option('--reason <text>', 'why, recorded in the audit trail')
    .option('--client-token <token>', 'idempotency token: a retry with the same token changes nothing twice')
    .option('--expected-revision <n>', 'apply only if the model is still at this revision (see describe)', parseRevision);
}

export function changeRequest(context: CommandContext, options: ChangeOptions): ChangeRequest {
  return {
    model: options.model,
    actor: context.actor,
    ...(options.reason === undefined ? {} : { reason: options.reason }),
    ...(options.clientToken === undefined ? {} : { clientToken: options.clientToken }),
    ...(options.expectedRevision === undefined ? {} : { expectedRevision: options.expectedRevision }),
  };
}

/** `production=2 canary=3@10% shadow=none` */
export function servingSummary(model: ModelRecord): string {
  const canary = model.canary === null ? 'none' : `${model.canary.version}@${formatShare(model.canary.share)}`;
  return `production=${model.production_version ?? 'none'} canary=${canary} shadow=${model.shadow_version ?? 'none'}`;
}

export function formatShare(share: number): string {
  return `${Number((share * 100).toFixed(4))}%`;
}

/** Prints what a change did: one line for people, `{ action, result, model }` as JSON. */
export function reportChange(context: CommandContext, action: string, done: string, outcome: ChangeOutcome): void {
  emit(context.io, context.json, { action, result: outcome.result, model: outcome.model }, () =>
    outcome.result === 'replayed'
      ? `${outcome.model.model}: this change was already applied with the same --client-token; nothing changed (${servingSummary(outcome.model)}, revision ${outcome.model.revision})\n`
      : `${outcome.model.model}: ${done} (${servingSummary(outcome.model)}, revision ${outcome.model.revision})\n`,
  );
}
