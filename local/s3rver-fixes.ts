/**
 * Two fixes to s3rver, as a Koa middleware placed before its router (after its XML encoder, so answers are still
 * objects here):
 *
 * - **Long keys.** s3rver stores a key as files named after its last segment (`<name>._S3rver_object`,
 *   `<name>._S3rver_metadata.json`); a segment near 255 bytes made `createWriteStream` emit an unhandled `'error'`
 *   (`ENAMETOOLONG`) that ended the whole process, or wrote the object without its metadata. A key over S3's 1,024
 *   bytes, or with a segment whose files could not be named, is refused up front with S3's `KeyTooLongError` (400).
 * - **Torn objects.** s3rver truncates an object's file and streams the new bytes into it, then writes its metadata:
 *   a reader in between got an empty or partial object (a drift report read while it was rewritten), and a crash
 *   left an object without its metadata. `atomicPuts` writes the metadata first and the bytes to a temporary file
 *   renamed into place last, so a key shows its old content or its new content, never part of one.
 * - **ListObjectsV2 pagination.** s3rver signs its continuation tokens with DES, which OpenSSL 3 no longer offers: any
 *   listing that paginates (more than 1,000 objects, or `MaxKeys`) failed with a 500. A V2 request is answered through
 *   s3rver's V1 listing (a marker, no token) and turned back into a V2 answer whose token is the last key, encoded.
 */

import { randomUUID, createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** The parts of Koa's context the middleware uses (s3rver ships no types). */
interface KoaContext {
  method: string;
  path: string;
  query: Record<string, string | string[] | undefined>;
  status: number;
  body: unknown;
}

type Next = () => Promise<void>;

/** S3's limit on a key, in UTF-8 bytes. */
export const S3_MAX_KEY_BYTES = 1024;
/** A file name's limit on the common file systems. */
const MAX_FILE_NAME_BYTES = 255;
/** The longest suffix s3rver appends to a key's last segment. */
const S3RVER_LONGEST_SUFFIX = '._S3rver_metadata.json';
const TOKEN_PREFIX = 'mlops1.';

function encodeToken(key: string): string {
  return TOKEN_PREFIX + Buffer.from(key, 'utf8').toString('base64url');
}

function decodeToken(token: string): string | undefined {
  return token.startsWith(TOKEN_PREFIX) ? Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url').toString('utf8') : undefined;
}

function s3Error(ctx: KoaContext, status: number, code: string, message: string): void {
  ctx.status = status;
  ctx.body = { Error: { Code: code, Message: message } };
}

/** Whether s3rver can store `key` as files (every segment fits a file name with s3rver's suffix). */
export function keyFitsS3rver(key: string): boolean {
  if (Buffer.byteLength(key, 'utf8') > S3_MAX_KEY_BYTES) return false;
  const suffixBytes = Buffer.byteLength(S3RVER_LONGEST_SUFFIX);
  return key.split('/').every((segment) => Buffer.byteLength(segment, 'utf8') + suffixBytes <= MAX_FILE_NAME_BYTES);
}

function safeDecode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

async function listV2ThroughV1(ctx: KoaContext, next: Next): Promise<void> {
  const query = { ...ctx.query };
  const token = single(query['continuation-token']);
  let startAfter = single(query['start-after']);
  if (token !== undefined && token !== '') {
    startAfter = decodeToken(token);
    if (startAfter === undefined) return s3Error(ctx, 400, 'InvalidArgument', 'The continuation token provided is incorrect');
  }
  const fetchOwner = single(query['fetch-owner']) === 'true';
  delete query['list-type'];
  delete query['continuation-token'];
  delete query['start-after'];
  delete query['fetch-owner'];
  if (startAfter !== undefined && startAfter !== '') query.marker = startAfter;
  ctx.query = query;
  await next();
  const result = (ctx.body as { ListBucketResult?: Record<string, unknown> } | undefined)?.ListBucketResult;
  if (result === undefined) return;
  const contents = (result.Contents as { Key: string; Owner?: unknown }[] | undefined) ?? [];
  const prefixes = (result.CommonPrefixes as unknown[] | undefined) ?? [];
  const last = contents[contents.length - 1];
  delete result.Marker;
  delete result.NextMarker;
  if (!fetchOwner) for (const object of contents) delete object.Owner;
  result.KeyCount = contents.length + prefixes.length;
  if (token !== undefined && token !== '') result.ContinuationToken = token;
  else if (startAfter !== undefined) result.StartAfter = startAfter;
  if (result.IsTruncated === true && last !== undefined) result.NextContinuationToken = encodeToken(last.Key);
}

/** The middleware; see the module comment. Paths are path-style (`/{bucket}/{key}`), as the local clients send them. */
export function s3rverFixes(): (ctx: KoaContext, next: Next) => Promise<void> {
  return async (ctx, next) => {
    const segments = ctx.path.split('/').slice(1);
    const bucket = segments[0] ?? '';
    // `/bucket` and `/bucket/` (how the SDK lists) both name the bucket itself.
    if (segments.length > 1 && !(segments.length === 2 && segments[1] === '')) {
      const key = safeDecode(segments.slice(1).join('/'));
      if (key === undefined) return s3Error(ctx, 400, 'InvalidURI', 'Couldn\'t parse the specified URI.');
      if (!keyFitsS3rver(key)) {
        return s3Error(ctx, 400, 'KeyTooLongError', `Your key is too long (the local S3 stores at most ${MAX_FILE_NAME_BYTES - S3RVER_LONGEST_SUFFIX.length} bytes per segment and ${S3_MAX_KEY_BYTES} bytes in all)`);
      }
      return next();
    }
    if (ctx.method === 'GET' && bucket !== '' && single(ctx.query['list-type']) === '2') return listV2ThroughV1(ctx, next);
    return next();
  };
}

/** The parts of s3rver's FilesystemStore that `atomicPuts` replaces or uses. */
export interface S3rverStore {
  getBucketPath(bucket: string): string;
  getResourcePath(bucket: string, key: string, resource: string): string;
  putObject(object: { bucket: string; key: string; content: Buffer | Readable; metadata: Record<string, string> }): Promise<{ size: number; md5: string }>;
}

const TEMP_PREFIX = '._S3rver_tmp-';

/** Writes `data` to a temporary file beside `bucketPath` and renames it to `path` (atomic on one file system). */
async function replaceFile(bucketPath: string, path: string, data: string): Promise<void> {
  const temp = join(bucketPath, `${TEMP_PREFIX}${randomUUID()}`);
  await writeFile(temp, data);
  await rename(temp, path);
}

/** What s3rver keeps of a request's headers as an object's metadata (its `S3Object.ALLOWED_METADATA` and `x-amz-meta-*`). */
const KEPT_METADATA = ['cache-control', 'content-disposition', 'content-encoding', 'content-language', 'content-type', 'expires', 'x-amz-storage-class', 'x-amz-website-redirect-location'];

/**
 * Makes the store's puts atomic (see the module comment) and removes the temporary files a killed process left.
 * Keys are checked by the middleware before they get here.
 */
export async function atomicPuts(store: S3rverStore, rootDirectory: string): Promise<void> {
  for (const bucket of await readdir(rootDirectory).catch(() => [] as string[])) {
    const bucketPath = join(rootDirectory, bucket);
    for (const name of await readdir(bucketPath).catch(() => [] as string[])) {
      if (name.startsWith(TEMP_PREFIX)) await rm(join(bucketPath, name), { force: true });
    }
  }
  store.putObject = async (object) => {
    const bucketPath = store.getBucketPath(object.bucket);
    const objectPath = store.getResourcePath(object.bucket, object.key, 'object');
    await mkdir(dirname(objectPath), { recursive: true });
    const temp = join(bucketPath, `${TEMP_PREFIX}${randomUUID()}`);
    const md5 = createHash('md5');
    let size = 0;
    try {
      if (Buffer.isBuffer(object.content)) {
        md5.update(object.content);
        size = object.content.length;
        await writeFile(temp, object.content);
      } else {
        const counter = new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            md5.update(chunk);
            size += chunk.length;
            callback(null, chunk);
          },
        });
        await pipeline(object.content, counter, createWriteStream(temp));
      }
      const digest = md5.digest('hex');
      const metadata: Record<string, string> = {};
      for (const [name, value] of Object.entries(object.metadata)) {
        if (KEPT_METADATA.includes(name) || name.startsWith('x-amz-meta-')) metadata[name] = value;
      }
      // Metadata first: for a new key it is invisible until the bytes land (s3rver stats the object file first).
      await replaceFile(bucketPath, store.getResourcePath(object.bucket, object.key, 'object.md5'), digest);
      await replaceFile(bucketPath, store.getResourcePath(object.bucket, object.key, 'metadata.json'), JSON.stringify(metadata, null, 2));
      await rename(temp, objectPath);
      return { size, md5: digest };
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  };
}

/**
 * Keys of the objects under an s3rver directory (`<bucket>/<key>`) whose bytes have no metadata file beside them: what
 * a put torn between its two files leaves (s3rver alone wrote the bytes first; `atomicPuts` writes the metadata first).
 */
export async function objectsWithoutMetadata(rootDirectory: string): Promise<string[]> {
  const OBJECT = '._S3rver_object';
  const METADATA = '._S3rver_metadata.json';
  const found: string[] = [];
  const walk = async (directory: string, prefix: string): Promise<void> => {
    const entries = await readdir(directory, { withFileTypes: true }).catch(() => []);
    const names = new Set(entries.map((e) => e.name));
    for (const entry of entries) {
      if (entry.isDirectory()) await walk(join(directory, entry.name), `${prefix}${entry.name}/`);
      else if (entry.name.endsWith(OBJECT) && !names.has(`${entry.name.slice(0, -OBJECT.length)}${METADATA}`)) {
        found.push(`${prefix}${entry.name.slice(0, -OBJECT.length)}`);
      }
    }
  };
  await walk(rootDirectory, '');
  return found.sort();
}
