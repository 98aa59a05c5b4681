import { ApiError } from '#core/errors.ts';

/**
 * Errors the CLI reports as one line. Anything thrown ends up in `describeError`, which turns
 * registry errors, API answers and AWS SDK failures into a sentence a person can act on.
 */

/** A failure whose message is already meant for the person at the terminal. */
export class CliError extends Error {
  constructor(
    message: string,
    /** The process exit code: 1 for failures, 2 for wrong usage. */
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** An error answer of the inference API: `{ "error": { "code", "message" } }` with its HTTP status. */
export class HttpApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpApiError';
  }
}

const CREDENTIAL_ERRORS = new Set([
  'CredentialsProviderError',
  'ExpiredToken',
  'ExpiredTokenException',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'TokenRefreshRequired',
]);

const ACCESS_ERRORS = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation']);

function codeOf(error: Error): string | undefined {
  const withCode = error as Error & { code?: unknown; cause?: unknown };
  if (typeof withCode.code === 'string') return withCode.code;
  if (withCode.cause instanceof Error) return codeOf(withCode.cause);
  return undefined;
}

/** The one line printed for a failure (without the `mlops:` prefix). */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error instanceof CliError) return error.message;
  if (error instanceof ApiError) return `${error.message} (${error.code})`;
  if (error instanceof HttpApiError) return `${error.message} (${error.code}, HTTP ${error.status})`;
  if (CREDENTIAL_ERRORS.has(error.name)) {
    return `no valid AWS credentials (${firstLine(error.message)}): configure them (aws configure, AWS_PROFILE or aws sso login), or use --local for the local platform`;
  }
  if (ACCESS_ERRORS.has(error.name)) {
    return `AWS refused the call: ${firstLine(error.message)} (check the permissions of your credentials)`;
  }
  if (/region is missing/i.test(error.message)) {
    return 'no AWS region: pass --region or set AWS_REGION (or use --local for the local platform)';
  }
  const code = codeOf(error);
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET') {
    return `cannot reach the platform (${code}): is it running? For the local platform: npm start`;
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `cannot resolve the endpoint host (${code}): check your network and --region`;
  return firstLine(error.message) || error.name;
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0]?.trim() ?? '';
}
