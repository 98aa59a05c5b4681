import { createHash } from 'node:crypto';
import {
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  type DynamoDBDocumentClient,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { ConflictError } from '#core/errors.ts';
import type { ModelMetadata } from '#core/model/metadata.ts';
import type { ChangeResult, ModelChange, RegistryStore, VersionUpdate } from '#core/registry/ports.ts';
import {
  AUDIT_ACTIONS,
  STAGES,
  type AuditAction,
  type AuditRecord,
  type CanaryConfig,
  type ModelRecord,
  type ModelVersionRecord,
  type ServingTarget,
  type Stage,
} from '#core/registry/records.ts';

/**
 * The model registry on one DynamoDB table (docs/registry.md). A model's items share one
 * partition, so every per-model read is a single Query; `gsi1` lists models.
 *
 * | item     | pk              | sk                        | gsi1pk / gsi1sk    |
 * |----------|-----------------|---------------------------|--------------------|
 * | model    | `MODEL#{model}` | `MODEL`                   | `MODELS` / {model} |
 * | version  | `MODEL#{model}` | `VERSION#{000000042}`     |                    |
 * | sha256   | `MODEL#{model}` | `SHA#{sha256}`            |                    |
 * | audit    | `MODEL#{model}` | `AUDIT#{iso time}#{token}`|                    |
 * | token    | `MODEL#{model}` | `TOKEN#{client token}`    |                    |
 *
 * Every change is one TransactWriteItems: the model item is replaced only if its `revision`
 * still holds what the caller read, the version items change with it, and the audit and
 * token items are appended, so a pointer never moves without its audit record and a retried
 * call (same client token) changes nothing twice.
 */

export const MODEL_SORT_KEY = 'MODEL';
export const MODELS_INDEX = 'gsi1';
const MODELS_INDEX_PARTITION = 'MODELS';

export function modelPartitionKey(model: string): string {
  return `MODEL#${model}`;
}

export function versionSortKey(version: number): string {
  return `VERSION#${String(version).padStart(9, '0')}`;
}

function shaSortKey(sha256: string): string {
  return `SHA#${sha256}`;
}

function auditSortKey(record: AuditRecord): string {
  return `AUDIT#${record.at}#${record.client_token}`;
}

function tokenSortKey(token: string): string {
  return `TOKEN#${token}`;
}

/** A registry item that does not have the shape this code writes. */
export class CorruptRegistryItemError extends Error {
  constructor(key: string, problem: string) {
    super(`registry item ${key} is corrupt: ${problem}`);
    this.name = 'CorruptRegistryItemError';
  }
}

type Item = Record<string, unknown>;

function keyOf(item: Item): string {
  return `${String(item.pk)}/${String(item.sk)}`;
}

function str(item: Item, field: string): string {
  const value = item[field];
  if (typeof value !== 'string') throw new CorruptRegistryItemError(keyOf(item), `${field} is not a string`);
  return value;
}

function num(item: Item, field: string): number {
  const value = item[field];
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new CorruptRegistryItemError(keyOf(item), `${field} is not a number`);
  }
  return value;
}

function optionalNum(item: Item, field: string): number | null {
  return item[field] === null || item[field] === undefined ? null : num(item, field);
}

function optionalStr(item: Item, field: string): string | null {
  return item[field] === null || item[field] === undefined ? null : str(item, field);
}

function toCanary(item: Item): CanaryConfig | null {
  const canary = item.canary;
  if (canary === null || canary === undefined) return null;
  if (typeof canary !== 'object') throw new CorruptRegistryItemError(keyOf(item), 'canary is not a map');
  const map = { ...(canary as Item), pk: item.pk, sk: item.sk };
  return { version: num(map, 'version'), share: num(map, 'share') };
}

function toModelRecord(item: Item): ModelRecord {
  const history = item.previous_production_versions;
  return {
    model: str(item, 'model'),
    description: typeof item.description === 'string' ? item.description : '',
    production_version: optionalNum(item, 'production_version'),
    canary: toCanary(item),
    shadow_version: optionalNum(item, 'shadow_version'),
    previous_production_versions: Array.isArray(history) ? history.filter((v): v is number => typeof v === 'number') : [],
    latest_version: num(item, 'latest_version'),
    revision: typeof item.revision === 'number' ? item.revision : 0,
    created_at: str(item, 'created_at'),
    updated_at: str(item, 'updated_at'),
  };
}

/** The stored serving target; absent on items written before serving targets existed (they serve in the Lambda). */
function toServingTarget(item: Item): ServingTarget | undefined {
  const target = item.serving_target;
  if (target === null || target === undefined) return undefined;
  if (typeof target !== 'object') throw new CorruptRegistryItemError(keyOf(item), 'serving_target is not a map');
  const map = { ...(target as Item), pk: item.pk, sk: item.sk };
  const kind = str(map, 'kind');
  if (kind === 'lambda') return { kind };
  if (kind === 'sagemaker') return { kind, endpoint_name: str(map, 'endpoint_name') };
  throw new CorruptRegistryItemError(keyOf(item), `unknown serving_target kind ${kind}`);
}

function toVersionRecord(item: Item): ModelVersionRecord {
  const stage = str(item, 'stage');
  if (!(STAGES as readonly string[]).includes(stage)) throw new CorruptRegistryItemError(keyOf(item), `unknown stage ${stage}`);
  const artifact = item.artifact;
  if (typeof artifact !== 'object' || artifact === null) throw new CorruptRegistryItemError(keyOf(item), 'artifact is missing');
  const artifactItem = { ...(artifact as Item), pk: item.pk, sk: item.sk };
  const servingTarget = toServingTarget(item);
  let metadata: ModelMetadata;
  try {
    // Stored as JSON text so numbers and empty values round-trip exactly.
    metadata = JSON.parse(str(item, 'metadata_json')) as ModelMetadata;
  } catch (error) {
    if (error instanceof CorruptRegistryItemError) throw error;
    throw new CorruptRegistryItemError(keyOf(item), 'metadata_json is not JSON');
  }
  return {
    model: str(item, 'model'),
    version: num(item, 'version'),
    stage: stage as Stage,
    artifact: { key: str(artifactItem, 'key'), sha256: str(artifactItem, 'sha256'), size_bytes: num(artifactItem, 'size_bytes') },
    metadata,
    created_at: str(item, 'created_at'),
    created_by: str(item, 'created_by'),
    deleted_at: optionalStr(item, 'deleted_at'),
    ...(servingTarget === undefined ? {} : { serving_target: servingTarget }),
  };
}

function toAuditRecord(item: Item): AuditRecord {
  const action = str(item, 'action');
  if (!(AUDIT_ACTIONS as readonly string[]).includes(action)) {
    throw new CorruptRegistryItemError(keyOf(item), `unknown action ${action}`);
  }
  const outcome = str(item, 'outcome');
  if (outcome !== 'applied' && outcome !== 'conflict' && outcome !== 'refused') {
    throw new CorruptRegistryItemError(keyOf(item), `unknown outcome ${outcome}`);
  }
  return {
    model: str(item, 'model'),
    at: str(item, 'at'),
    actor: str(item, 'actor'),
    action: action as AuditAction,
    version: optionalNum(item, 'version'),
    from: optionalStr(item, 'from'),
    to: optionalStr(item, 'to'),
    reason: typeof item.reason === 'string' ? item.reason : '',
    outcome,
    client_token: str(item, 'client_token'),
  };
}

function modelItem(record: ModelRecord): Item {
  return {
    pk: modelPartitionKey(record.model),
    sk: MODEL_SORT_KEY,
    gsi1pk: MODELS_INDEX_PARTITION,
    gsi1sk: record.model,
    ...record,
  };
}

function versionItem(record: ModelVersionRecord): Item {
  const { metadata, ...rest } = record;
  return { pk: modelPartitionKey(record.model), sk: versionSortKey(record.version), ...rest, metadata_json: JSON.stringify(metadata) };
}

function auditItem(record: AuditRecord): Item {
  return { pk: modelPartitionKey(record.model), sk: auditSortKey(record), ...record };
}

/** DynamoDB limits ClientRequestToken to 36 characters; any caller token maps onto one. */
/**
 * DynamoDB's ClientRequestToken for a change: the client token scoped to its model, as the token items are. The
 * request token is one namespace for the whole table, so the same client token on two models within DynamoDB's
 * 10-minute window would otherwise make the second change an IdempotentParameterMismatch, read as replayed, and lost.
 */
function requestToken(model: string, token: string): string {
  return createHash('sha256').update(`${model}\u0000${token}`).digest('hex').slice(0, 36);
}

interface CancellationReason {
  readonly Code?: string;
}

function cancellationReasons(error: unknown): CancellationReason[] | undefined {
  if (!(error instanceof Error) || error.name !== 'TransactionCanceledException') return undefined;
  const reasons = (error as Error & { CancellationReasons?: CancellationReason[] }).CancellationReasons;
  return reasons ?? [];
}

/** Reads and writes the registry table through an injected document client. */
export class DynamoDbRegistry implements RegistryStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async getModel(model: string): Promise<ModelRecord | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: modelPartitionKey(model), sk: MODEL_SORT_KEY }, ConsistentRead: true }),
    );
    return Item === undefined ? undefined : toModelRecord(Item);
  }

  async getVersion(model: string, version: number): Promise<ModelVersionRecord | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: modelPartitionKey(model), sk: versionSortKey(version) }, ConsistentRead: true }),
    );
    return Item === undefined ? undefined : toVersionRecord(Item);
  }

  async listModels(): Promise<ModelRecord[]> {
    const items = await this.queryAll({
      TableName: this.tableName,
      IndexName: MODELS_INDEX,
      KeyConditionExpression: 'gsi1pk = :models',
      ExpressionAttributeValues: { ':models': MODELS_INDEX_PARTITION },
    });
    return items.map(toModelRecord);
  }

  async listVersions(model: string): Promise<ModelVersionRecord[]> {
    return (await this.queryPrefix(model, 'VERSION#')).map(toVersionRecord);
  }

  async history(model: string): Promise<AuditRecord[]> {
    return (await this.queryPrefix(model, 'AUDIT#')).map(toAuditRecord);
  }

  async findVersionBySha256(model: string, sha256: string): Promise<ModelVersionRecord | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: modelPartitionKey(model), sk: shaSortKey(sha256) }, ConsistentRead: true }),
    );
    return Item === undefined ? undefined : this.getVersion(model, num(Item, 'version'));
  }

  async applyChange(change: ModelChange): Promise<ChangeResult> {
    const { next, audit } = change;
    const pk = modelPartitionKey(next.model);
    const items: NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']> = [
      {
        Put: {
          TableName: this.tableName,
          Item: modelItem(next),
          ...(change.expectedRevision === null
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : {
                ConditionExpression: 'revision = :expected OR (attribute_not_exists(revision) AND :expected = :zero)',
                ExpressionAttributeValues: { ':expected': change.expectedRevision, ':zero': 0 },
              }),
        },
      },
      ...change.versionUpdates.map((update) => this.versionUpdate(next.model, update)),
      ...(change.newVersion === undefined
        ? []
        : [
            { Put: { TableName: this.tableName, Item: versionItem(change.newVersion), ConditionExpression: 'attribute_not_exists(pk)' } },
            {
              Put: {
                TableName: this.tableName,
                Item: { pk, sk: shaSortKey(change.newVersion.artifact.sha256), version: change.newVersion.version },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
          ]),
      { Put: { TableName: this.tableName, Item: auditItem(audit), ConditionExpression: 'attribute_not_exists(pk)' } },
      {
        Put: {
          TableName: this.tableName,
          Item: { pk, sk: tokenSortKey(audit.client_token), audit_sk: auditSortKey(audit), at: audit.at },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
    ];
    try {
      await this.client.send(
        new TransactWriteCommand({ TransactItems: items, ClientRequestToken: requestToken(next.model, audit.client_token) }),
      );
      return 'applied';
    } catch (error) {
      // DynamoDB's own 10-minute idempotency window: the same token with a re-planned request.
      if (error instanceof Error && error.name === 'IdempotentParameterMismatchException') return 'replayed';
      const reasons = cancellationReasons(error);
      if (reasons === undefined) throw error;
      // The token item is last: its condition failing means this very change was applied before.
      if (reasons[items.length - 1]?.Code === 'ConditionalCheckFailed') return 'replayed';
      throw new ConflictError(
        'CONCURRENT_CHANGE',
        `model "${next.model}" changed since it was read (revision ${String(change.expectedRevision)}); read it again and retry`,
        { model: next.model, expected_revision: change.expectedRevision },
        { cause: error },
      );
    }
  }

  async wasApplied(model: string, clientToken: string): Promise<boolean> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: modelPartitionKey(model), sk: tokenSortKey(clientToken) }, ConsistentRead: true }),
    );
    return Item !== undefined;
  }

  async appendAudit(record: AuditRecord): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({ TableName: this.tableName, Item: auditItem(record), ConditionExpression: 'attribute_not_exists(pk)' }),
      );
    } catch (error) {
      // The same attempt audited twice (a retried call): one record is enough.
      if (!(error instanceof Error && error.name === 'ConditionalCheckFailedException')) throw error;
    }
  }

  private versionUpdate(model: string, update: VersionUpdate) {
    const sets: string[] = [];
    const values: Record<string, unknown> = {};
    if (update.stage !== undefined) {
      sets.push('stage = :stage');
      values[':stage'] = update.stage;
    }
    if (update.deleted_at !== undefined) {
      sets.push('deleted_at = :deleted_at');
      values[':deleted_at'] = update.deleted_at;
    }
    return {
      Update: {
        TableName: this.tableName,
        Key: { pk: modelPartitionKey(model), sk: versionSortKey(update.version) },
        UpdateExpression: `SET ${sets.join(', ')}`,
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: values,
      },
    };
  }

  private queryPrefix(model: string, prefix: string): Promise<Item[]> {
    return this.queryAll({
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': modelPartitionKey(model), ':prefix': prefix },
      ConsistentRead: true,
    });
  }

  private async queryAll(input: QueryCommandInput): Promise<Item[]> {
    const items: Item[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(new QueryCommand({ ...input, ExclusiveStartKey: startKey }));
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return items;
  }
}
