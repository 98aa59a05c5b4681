import {
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { ModelMetadata } from '#core/model/metadata.ts';
import { STAGES, type ArtifactLocation, type ModelRecord, type ModelVersionRecord, type Stage } from '#core/registry/records.ts';
import type { RegistryReader } from '#core/serving/ports.ts';

/**
 * The model registry on one DynamoDB table. Item layout (docs/registry-layout.md):
 *
 * | item    | pk              | sk                   | gsi1pk   | gsi1sk  |
 * |---------|-----------------|----------------------|----------|---------|
 * | model   | `MODEL#{model}` | `MODEL`              | `MODELS` | {model} |
 * | version | `MODEL#{model}` | `VERSION#{000000042}`| —        | —       |
 *
 * A model and all its versions share a partition, so "describe a model with its versions"
 * is one Query; `gsi1` lists models without a Scan.
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

/** A registry item that does not have the shape this code writes. */
export class CorruptRegistryItemError extends Error {
  constructor(key: string, problem: string) {
    super(`registry item ${key} is corrupt: ${problem}`);
    this.name = 'CorruptRegistryItemError';
  }
}

/** A conditional write lost to a concurrent change. */
export class RegistryConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegistryConflictError';
  }
}

type Item = Record<string, unknown>;

function str(item: Item, field: string, key: string): string {
  const value = item[field];
  if (typeof value !== 'string') throw new CorruptRegistryItemError(key, `${field} is not a string`);
  return value;
}

function num(item: Item, field: string, key: string): number {
  const value = item[field];
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new CorruptRegistryItemError(key, `${field} is not a number`);
  }
  return value;
}

function toModelRecord(item: Item): ModelRecord {
  const key = `${String(item.pk)}/${String(item.sk)}`;
  const production = item.production_version;
  return {
    model: str(item, 'model', key),
    description: typeof item.description === 'string' ? item.description : '',
    production_version: production === null || production === undefined ? null : num(item, 'production_version', key),
    latest_version: num(item, 'latest_version', key),
    created_at: str(item, 'created_at', key),
    updated_at: str(item, 'updated_at', key),
  };
}

function toVersionRecord(item: Item): ModelVersionRecord {
  const key = `${String(item.pk)}/${String(item.sk)}`;
  const stage = str(item, 'stage', key);
  if (!(STAGES as readonly string[]).includes(stage)) throw new CorruptRegistryItemError(key, `unknown stage ${stage}`);
  const artifact = item.artifact;
  if (typeof artifact !== 'object' || artifact === null) throw new CorruptRegistryItemError(key, 'artifact is missing');
  const artifactItem = artifact as Item;
  let metadata: ModelMetadata;
  try {
    // Stored as JSON text so numbers and empty values round-trip exactly.
    metadata = JSON.parse(str(item, 'metadata_json', key)) as ModelMetadata;
  } catch (error) {
    if (error instanceof CorruptRegistryItemError) throw error;
    throw new CorruptRegistryItemError(key, 'metadata_json is not JSON');
  }
  return {
    model: str(item, 'model', key),
    version: num(item, 'version', key),
    stage: stage as Stage,
    artifact: {
      key: str(artifactItem, 'key', key),
      sha256: str(artifactItem, 'sha256', key),
      size_bytes: num(artifactItem, 'size_bytes', key),
    },
    metadata,
    created_at: str(item, 'created_at', key),
    created_by: str(item, 'created_by', key),
  };
}

function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof Error && error.name === 'ConditionalCheckFailedException'
  );
}

export interface RegisterVersionInput {
  readonly model: string;
  readonly description: string;
  readonly artifact: ArtifactLocation;
  readonly metadata: ModelMetadata;
  readonly actor: string;
}

/** Reads and writes the registry table through an injected document client. */
export class DynamoDbRegistry implements RegistryReader {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async getModel(model: string): Promise<ModelRecord | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: modelPartitionKey(model), sk: MODEL_SORT_KEY } }),
    );
    return Item === undefined ? undefined : toModelRecord(Item);
  }

  async getVersion(model: string, version: number): Promise<ModelVersionRecord | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: modelPartitionKey(model), sk: versionSortKey(version) } }),
    );
    return Item === undefined ? undefined : toVersionRecord(Item);
  }

  async listModels(): Promise<ModelRecord[]> {
    const models: ModelRecord[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: MODELS_INDEX,
          KeyConditionExpression: 'gsi1pk = :models',
          ExpressionAttributeValues: { ':models': MODELS_INDEX_PARTITION },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) models.push(toModelRecord(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return models;
  }

  /**
   * Adds the next version of a model as a candidate, creating the model on first use.
   * The version number is reserved first by a conditional update of the model item, so two
   * concurrent registrations never get the same number; the version item is then written
   * only if absent. (Single-item conditional writes: the local DynamoDB emulator has no
   * TransactWriteItems.)
   */
  async registerVersion(input: RegisterVersionInput): Promise<ModelVersionRecord> {
    const existing = await this.getModel(input.model);
    const previous = existing?.latest_version ?? 0;
    const version = previous + 1;
    const now = this.clock().toISOString();
    const record: ModelVersionRecord = {
      model: input.model,
      version,
      stage: 'candidate',
      artifact: input.artifact,
      metadata: input.metadata,
      created_at: now,
      created_by: input.actor,
    };
    const { metadata, ...rest } = record;
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: modelPartitionKey(input.model), sk: MODEL_SORT_KEY },
          UpdateExpression:
            'SET model = :model, latest_version = :version, updated_at = :now, gsi1pk = :models, gsi1sk = :model, ' +
            'created_at = if_not_exists(created_at, :now), description = :description, ' +
            'production_version = if_not_exists(production_version, :none)',
          ConditionExpression: existing === undefined ? 'attribute_not_exists(pk)' : 'latest_version = :previous',
          ExpressionAttributeValues: {
            ':model': input.model,
            ':version': version,
            ':now': now,
            ':models': MODELS_INDEX_PARTITION,
            ':description': input.description,
            ':none': null,
            ...(existing === undefined ? {} : { ':previous': previous }),
          },
        }),
      );
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: modelPartitionKey(input.model), sk: versionSortKey(version), ...rest, metadata_json: JSON.stringify(metadata) },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) {
        throw new RegistryConflictError(`model "${input.model}" changed while version ${version} was being registered; retry`);
      }
      throw error;
    }
    return record;
  }

  /**
   * Makes `version` the production version, only if the pointer still holds `expected`
   * (what the caller read). The pointer on the model item is the truth; the stages on the
   * version items follow it.
   */
  async promote(model: string, version: number, expected: number | null): Promise<void> {
    const pk = modelPartitionKey(model);
    if ((await this.getVersion(model, version)) === undefined) {
      throw new RegistryConflictError(`model "${model}" has no version ${version}`);
    }
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk, sk: MODEL_SORT_KEY },
          UpdateExpression: 'SET production_version = :version, updated_at = :now',
          ConditionExpression: 'production_version = :expected',
          ExpressionAttributeValues: { ':version': version, ':now': this.clock().toISOString(), ':expected': expected },
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) {
        throw new RegistryConflictError(`model "${model}" production version is no longer ${String(expected)}`);
      }
      throw error;
    }
    await this.setStage(model, version, 'production');
    if (expected !== null && expected !== version) await this.setStage(model, expected, 'archived');
  }

  private async setStage(model: string, version: number, stage: Stage): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: modelPartitionKey(model), sk: versionSortKey(version) },
        UpdateExpression: 'SET stage = :stage',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':stage': stage },
      }),
    );
  }
}
