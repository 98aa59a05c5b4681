/**
 * Two fixes to s3rver, as a Koa middleware placed before its router (after its XML encoder, so answers are still
 * objects here):
 *
 * - **Long keys.** s3rver stores a key as files named after its last segment (`<name>._S3rver_object`,
 *   `<name>._S3rver_metadata.json`); a segment near 255 bytes made `createWriteStream` emit an unhandled `'error'`
 *   (`ENAMETOOLONG`) that ended the whole process, or wrote the object without its metadata. A key over S3's 1,024
 *   bytes, or with a segment whose files could not be named, is refused up front with S3's `KeyTooLongError` (400).
 * - **ListObjectsV2 pagination.** s3rver signs its continuation tokens with DES, which OpenSSL 3 no longer offers: any
 *   listing that paginates (more than 1,000 objects, or `MaxKeys`) failed with a 500. A V2 request is answered through
 *   s3rver's V1 listing (a marker, no token) and turned back into a V2 answer whose token is the last key, encoded.
 */

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
