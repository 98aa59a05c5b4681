import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DriftLease } from '#core/drift/retrain.ts';
import { DRIFT_ITEM_KEY_PREFIX } from '#contracts/drift.ts';

/** The lease item's key in the registry table. */
export const DRIFT_LEASE_KEY = { pk: `${DRIFT_ITEM_KEY_PREFIX}LEASE`, sk: 'JOB' } as const;

function isConditionFailure(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException || (error instanceof Error && error.name === 'ConditionalCheckFailedException');
}

/**
 * The drift job's single-flight lease in the registry table: one item, taken by a conditional put that succeeds only
 * when no lease exists or the last one has expired, so a crashed run never blocks the next one longer than the
 * lease (the function's timeout). Replaces reserved concurrency, which fails on accounts at their concurrency minimum.
 */
export class DynamoDbDriftLease implements DriftLease {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async acquire(holder: string, now: Date, durationMs: number): Promise<{ acquired: boolean; holder?: string; expiresAt?: string }> {
    const expiresAt = new Date(now.getTime() + durationMs).toISOString();
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...DRIFT_LEASE_KEY, holder, acquired_at: now.toISOString(), expires_at: expiresAt },
          // ISO 8601 UTC strings of one format order as times do.
          ConditionExpression: 'attribute_not_exists(pk) OR expires_at <= :now',
          ExpressionAttributeValues: { ':now': now.toISOString() },
        }),
      );
      return { acquired: true };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: DRIFT_LEASE_KEY, ConsistentRead: true }));
      return Item === undefined ? { acquired: false } : { acquired: false, holder: String(Item.holder), expiresAt: String(Item.expires_at) };
    }
  }

  async release(holder: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: DRIFT_LEASE_KEY,
          ConditionExpression: 'holder = :holder',
          ExpressionAttributeValues: { ':holder': holder },
        }),
      );
    } catch (error) {
      // Expired and taken by another run: theirs now, nothing to give back.
      if (!isConditionFailure(error)) throw error;
    }
  }
}
