import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { LastRetrain, RetrainClaim, RetrainLedger } from '#core/drift/retrain.ts';
import { DRIFT_ITEM_KEY_PREFIX } from '#contracts/drift.ts';

/**
 * The retrain cooldown in the registry table: one item per model, `pk = DRIFT#{model}`,
 * `sk = RETRAIN`, with the last request's id and time. The claim is one conditional put, so two
 * drift runs racing on the same model cannot both request a retrain.
 */
export class DynamoDbRetrainLedger implements RetrainLedger {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async claim(model: string, claim: RetrainClaim, cooldownMs: number): Promise<{ claimed: boolean; last?: LastRetrain }> {
    const key = { pk: `${DRIFT_ITEM_KEY_PREFIX}${model}`, sk: 'RETRAIN' };
    const at = claim.at.toISOString();
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...key, model, request_id: claim.requestId, requested_at: at },
          // ISO 8601 UTC strings of one format order as times do.
          ConditionExpression: 'attribute_not_exists(pk) OR request_id = :id OR requested_at <= :cutoff',
          ExpressionAttributeValues: { ':id': claim.requestId, ':cutoff': new Date(claim.at.getTime() - cooldownMs).toISOString() },
        }),
      );
      return { claimed: true };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException || (error instanceof Error && error.name === 'ConditionalCheckFailedException'))) throw error;
      const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
      return Item === undefined
        ? { claimed: false }
        : { claimed: false, last: { request_id: String(Item.request_id), requested_at: String(Item.requested_at) } };
    }
  }
}
