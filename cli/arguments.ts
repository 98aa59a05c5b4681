import { InvalidArgumentError } from 'commander';

/** Parsers for option values; commander turns their errors into usage errors (exit code 2). */

export function parseVersion(value: string): number {
  const version = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(version) || version < 1) {
    throw new InvalidArgumentError('a version is a whole number from 1 up.');
  }
  return version;
}

export function parseRevision(value: string): number {
  const revision = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(revision)) {
    throw new InvalidArgumentError('a revision is a whole number from 0 up.');
  }
  return revision;
}

/** A canary share: a fraction in (0, 1), or a percentage such as `10%`. */
export function parseShare(value: string): number {
  const text = value.trim();
  const share = text.endsWith('%') ? Number(text.slice(0, -1)) / 100 : Number(text);
  if (text === '' || text === '%' || !Number.isFinite(share) || share <= 0 || share >= 1) {
    throw new InvalidArgumentError('the share is a fraction between 0 and 1 (exclusive), e.g. 0.1 or 10%.');
  }
  return share;
}
