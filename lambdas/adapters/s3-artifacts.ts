import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ObjectStore } from '#core/pipeline/ports.ts';
import type { ArtifactReader } from '#core/serving/ports.ts';

/** Model artifacts, datasets and pipeline reports in the artifact bucket, through an injected S3 client. */
export class S3ArtifactStore implements ArtifactReader, ObjectStore {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  async getArtifact(key: string): Promise<Uint8Array> {
    const { Body } = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    if (Body === undefined) throw new Error(`s3://${this.bucket}/${key} has no body`);
    return Body.transformToByteArray();
  }

  getBytes(key: string): Promise<Uint8Array> {
    return this.getArtifact(key);
  }

  async getBytesIfExists(key: string): Promise<Uint8Array | undefined> {
    try {
      return await this.getArtifact(key);
    } catch (error) {
      if (error instanceof NoSuchKey || (error instanceof Error && error.name === 'NoSuchKey')) return undefined;
      throw error;
    }
  }

  async putBytes(key: string, bytes: Uint8Array, contentType: string): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: bytes, ContentType: contentType }));
  }

  /** Writes bytes under `key`; S3 checks the upload against their sha256 and keeps it as object metadata. */
  async putArtifact(key: string, bytes: Uint8Array, sha256Hex: string, contentType: string): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: bytes,
        ContentType: contentType,
        ChecksumSHA256: Buffer.from(sha256Hex, 'hex').toString('base64'),
        Metadata: { sha256: sha256Hex },
      }),
    );
  }
}
