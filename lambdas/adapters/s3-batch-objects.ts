import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { BatchObjectStore } from '#core/batch/batch-job.ts';

/** Batch scoring's input and output objects, in any bucket the function is granted, through an injected S3 client. */
export class S3BatchObjects implements BatchObjectStore {
  constructor(private readonly client: S3Client) {}

  /** Every object under `prefix` (all pages), ascending by key. */
  async list(bucket: string, prefix: string): Promise<{ key: string; size: number }[]> {
    const objects: { key: string; size: number }[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const object of page.Contents ?? []) if (object.Key !== undefined) objects.push({ key: object.Key, size: object.Size ?? 0 });
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async getText(bucket: string, key: string): Promise<string> {
    const { Body } = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Body === undefined ? '' : Body.transformToString('utf8');
  }

  async putText(bucket: string, key: string, text: string, contentType: string): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: text, ContentType: contentType }));
  }
}
