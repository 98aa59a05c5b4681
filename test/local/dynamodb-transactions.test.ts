import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, TransactGetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { startTransactionProxy } from '../../local/dynamodb-transactions.ts';
import { startDynamoDb, type RunningEmulator } from '../../local/emulators.ts';
import { ensureRegistryTable } from '../../local/provision.ts';

/** The proxy that gives dynalite DynamoDB's transactions, driven by the real SDK. */

const TABLE = 'tx-test';
let dataDir: string;
let dynalite: RunningEmulator;
let proxy: RunningEmulator;
let raw: DynamoDBClient;
let client: DynamoDBDocumentClient;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-tx-'));
  dynalite = await startDynamoDb(dataDir);
  proxy = await startTransactionProxy(dynalite);
  raw = new DynamoDBClient({ endpoint: proxy.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  await ensureRegistryTable(raw, TABLE);
  client = DynamoDBDocumentClient.from(raw);
});

afterAll(async () => {
  raw?.destroy();
  await proxy?.close();
  await dynalite?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function get(pk: string, sk: string): Promise<Record<string, unknown> | undefined> {
  return (await client.send(new GetCommand({ TableName: TABLE, Key: { pk, sk } }))).Item;
}

describe('DynamoDB transaction proxy', () => {
  it('applies every item of a transaction that passes its conditions', async () => {
    await client.send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: TABLE, Item: { pk: 'a', sk: '1', v: 1 }, ConditionExpression: 'attribute_not_exists(pk)' } },
          { Put: { TableName: TABLE, Item: { pk: 'a', sk: '2', v: 2 } } },
        ],
      }),
    );
    expect(await get('a', '1')).toMatchObject({ v: 1 });
    expect(await get('a', '2')).toMatchObject({ v: 2 });
  });

  it('applies nothing when one condition fails, and says which one', async () => {
    await client.send(new PutCommand({ TableName: TABLE, Item: { pk: 'b', sk: '1', v: 1 } }));
    await client.send(new PutCommand({ TableName: TABLE, Item: { pk: 'b', sk: '2', v: 1 } }));

    const attempt = client.send(
      new TransactWriteCommand({
        TransactItems: [
          { Update: { TableName: TABLE, Key: { pk: 'b', sk: '1' }, UpdateExpression: 'SET v = :two', ExpressionAttributeValues: { ':two': 2 } } },
          { Delete: { TableName: TABLE, Key: { pk: 'b', sk: '3' } } },
          { Put: { TableName: TABLE, Item: { pk: 'b', sk: '2', v: 9 }, ConditionExpression: 'v = :five', ExpressionAttributeValues: { ':five': 5 } } },
        ],
      }),
    );

    const error = await attempt.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransactionCanceledException);
    expect((error as TransactionCanceledException).CancellationReasons?.map((r) => r.Code)).toEqual([
      'None',
      'None',
      'ConditionalCheckFailed',
    ]);
    expect(await get('b', '1')).toMatchObject({ v: 1 });
    expect(await get('b', '2')).toMatchObject({ v: 1 });
  });

  it('checks a condition without creating or changing the item', async () => {
    await client.send(
      new TransactWriteCommand({
        TransactItems: [
          { ConditionCheck: { TableName: TABLE, Key: { pk: 'c', sk: '0' }, ConditionExpression: 'attribute_not_exists(pk)' } },
          { Put: { TableName: TABLE, Item: { pk: 'c', sk: '1' } } },
        ],
      }),
    );
    expect(await get('c', '0')).toBeUndefined();
    expect(await get('c', '1')).toBeDefined();
  });

  it('refuses two operations on one item', async () => {
    const attempt = client.send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: TABLE, Item: { pk: 'd', sk: '1' } } },
          { Delete: { TableName: TABLE, Key: { pk: 'd', sk: '1' } } },
        ],
      }),
    );
    await expect(attempt).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('applies a request once per client token and refuses the token for another request', async () => {
    const request = {
      ClientRequestToken: 'token-1',
      TransactItems: [
        {
          Update: {
            TableName: TABLE,
            Key: { pk: 'e', sk: '1' },
            UpdateExpression: 'ADD n :one',
            ExpressionAttributeValues: { ':one': 1 },
          },
        },
      ],
    };
    await client.send(new TransactWriteCommand(request));
    await client.send(new TransactWriteCommand(request));
    expect(await get('e', '1')).toMatchObject({ n: 1 });

    const other = { ...request, TransactItems: [{ Put: { TableName: TABLE, Item: { pk: 'e', sk: '2' } } }] };
    await expect(client.send(new TransactWriteCommand(other))).rejects.toMatchObject({ name: 'IdempotentParameterMismatchException' });
  });

  it('serialises concurrent conditional transactions so exactly one claims an item', async () => {
    const claims = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        client.send(
          new TransactWriteCommand({
            TransactItems: [
              { Put: { TableName: TABLE, Item: { pk: 'f', sk: 'lock', owner: i }, ConditionExpression: 'attribute_not_exists(pk)' } },
              { Put: { TableName: TABLE, Item: { pk: 'f', sk: `claim-${i}` } } },
            ],
          }),
        ),
      ),
    );
    expect(claims.filter((c) => c.status === 'fulfilled')).toHaveLength(1);
  });

  it('reads several items in one TransactGetItems', async () => {
    // Its own item, so that the test passes in any order and alone.
    await client.send(new PutCommand({ TableName: TABLE, Item: { pk: 'g', sk: '1', v: 1 } }));
    const { Responses } = await client.send(
      new TransactGetCommand({
        TransactItems: [{ Get: { TableName: TABLE, Key: { pk: 'g', sk: '1' } } }, { Get: { TableName: TABLE, Key: { pk: 'zz', sk: '0' } } }],
      }),
    );
    expect(Responses?.[0]?.Item).toMatchObject({ v: 1 });
    expect(Responses?.[1]?.Item).toBeUndefined();
  });

  it('undoes at start a transaction a killed process left half-applied, from its write-ahead journal', async () => {
    // Prepare: the state a SIGKILL leaves mid-transaction: item 1 rewritten, item 2 created, the journal still there.
    await client.send(new PutCommand({ TableName: TABLE, Item: { pk: 'journal', sk: '1', v: 1 } }));
    await client.send(new PutCommand({ TableName: TABLE, Item: { pk: 'journal', sk: '1', v: 2 } }));
    await client.send(new PutCommand({ TableName: TABLE, Item: { pk: 'journal', sk: '2', v: 2 } }));
    const journalDir = join(dataDir, 'journal');
    mkdirSync(journalDir, { recursive: true });
    const headers = {
      'content-type': 'application/x-amz-json-1.0',
      authorization: 'AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=00',
      'x-amz-date': '20260101T000000Z',
    };
    writeFileSync(
      join(journalDir, 'transaction-journal.json'),
      JSON.stringify({
        headers,
        items: [
          { table: TABLE, key: { pk: { S: 'journal' }, sk: { S: '1' } }, before: { pk: { S: 'journal' }, sk: { S: '1' }, v: { N: '1' } } },
          { table: TABLE, key: { pk: { S: 'journal' }, sk: { S: '2' } }, before: null },
        ],
      }),
    );

    // Act: a proxy started with the journal directory (as the local platform starts one after a crash).
    const restarted = await startTransactionProxy(dynalite, { journalDir });
    await restarted.close();

    // Assess: all undone, the journal gone.
    expect(await get('journal', '1')).toEqual({ pk: 'journal', sk: '1', v: 1 });
    expect(await get('journal', '2')).toBeUndefined();
    expect(existsSync(join(journalDir, 'transaction-journal.json'))).toBe(false);
  });

  it('leaves no journal behind once a transaction has applied or been undone', async () => {
    const journalDir = join(dataDir, 'journal-live');
    const journaled = await startTransactionProxy(dynalite, { journalDir });
    const other = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: journaled.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }));
    try {
      await other.send(new TransactWriteCommand({ TransactItems: [{ Put: { TableName: TABLE, Item: { pk: 'live', sk: '1', v: 1 } } }] }));
      await expect(
        other.send(new TransactWriteCommand({ TransactItems: [{ Put: { TableName: TABLE, Item: { pk: 'live', sk: '1', v: 2 }, ConditionExpression: 'attribute_not_exists(pk)' } }] })),
      ).rejects.toBeInstanceOf(TransactionCanceledException);
      expect(existsSync(join(journalDir, 'transaction-journal.json'))).toBe(false);
      expect(await get('live', '1')).toEqual({ pk: 'live', sk: '1', v: 1 });
    } finally {
      other.destroy();
      await journaled.close();
    }
  });
});
