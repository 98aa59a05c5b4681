import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ApprovalRecord, ApprovalRequest, ApprovalStore } from '#core/pipeline/ports.ts';

/**
 * Approval requests of the training pipeline, in the registry table under their own
 * partition (`APPROVAL#{id}` / `APPROVAL`): a decision is a conditional update, so a request
 * is decided once.
 */
export class DynamoDbApprovals implements ApprovalStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(request: ApprovalRequest): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: `APPROVAL#${request.id}`, sk: 'APPROVAL', ...request, status: 'pending', decided_by: null, decided_at: null, reason: null },
      }),
    );
  }

  async get(id: string): Promise<ApprovalRecord | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: `APPROVAL#${id}`, sk: 'APPROVAL' }, ConsistentRead: true }),
    );
    if (Item === undefined) return undefined;
    const { pk: _pk, sk: _sk, ...record } = Item;
    return record as ApprovalRecord;
  }

  async decide(id: string, decision: { approved: boolean; by: string; reason: string; at: string }): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `APPROVAL#${id}`, sk: 'APPROVAL' },
          UpdateExpression: 'SET #status = :status, decided_by = :by, decided_at = :at, reason = :reason',
          ConditionExpression: '#status = :pending',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':status': decision.approved ? 'approved' : 'rejected',
            ':by': decision.by,
            ':at': decision.at,
            ':reason': decision.reason,
            ':pending': 'pending',
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }
}
