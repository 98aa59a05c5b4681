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

/** Training seeds: `1,2,3`, 1 to 10 whole numbers from 0 up. */
export function parseSeeds(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  const seeds = parts.map(Number);
  if (parts.length === 0 || parts.length > 10 || parts.some((p) => !/^\d+$/.test(p)) || !seeds.every(Number.isSafeInteger)) {
    throw new InvalidArgumentError('the seeds are 1 to 10 whole numbers from 0 up, separated by commas, e.g. 1,2,3.');
  }
  return seeds;
}

/** A trainer parameter `name=value` (a number), collected into one object when repeated. */
export function collectParameter(value: string, previous: Readonly<Record<string, number>> | undefined): Record<string, number> {
  const match = /^([A-Za-z_][\w.]*)=(.+)$/.exec(value.trim());
  const number = match?.[2] === undefined ? Number.NaN : Number(match[2]);
  if (match?.[1] === undefined || match[2]?.trim() === '' || !Number.isFinite(number)) {
    throw new InvalidArgumentError('a parameter is name=number, e.g. l2=0.5 or trees=50.');
  }
  return { ...previous, [match[1]]: number };
}

/** A decision-threshold policy as the pipeline's run input takes it. */
export type DecisionThresholdArgument =
  | { readonly policy: 'maxF1' }
  | { readonly policy: 'youden' }
  | { readonly policy: 'targetRecall'; readonly recall: number }
  | { readonly policy: 'cost'; readonly falsePositive: number; readonly falseNegative: number }
  | { readonly policy: 'fixed'; readonly threshold: number };

/** `maxF1`, `youden`, `targetRecall:0.8`, `cost:1:10` (false positive cost, false negative cost) or `fixed:0.3`. */
export function parseThresholdPolicy(value: string): DecisionThresholdArgument {
  const [name, ...rest] = value.trim().split(':');
  const numbers = rest.map((part) => (part.trim() === '' ? Number.NaN : Number(part)));
  const usage = 'the threshold policy is maxF1, youden, targetRecall:RECALL, cost:FP_COST:FN_COST or fixed:THRESHOLD, e.g. targetRecall:0.8.';
  if (!numbers.every(Number.isFinite)) throw new InvalidArgumentError(usage);
  const [a, b] = numbers as [number, number];
  if ((name === 'maxF1' || name === 'youden') && numbers.length === 0) return { policy: name };
  if (name === 'targetRecall' && numbers.length === 1 && a > 0 && a <= 1) return { policy: name, recall: a };
  if (name === 'cost' && numbers.length === 2 && a >= 0 && b >= 0 && a + b > 0) return { policy: name, falsePositive: a, falseNegative: b };
  if (name === 'fixed' && numbers.length === 1 && a > 0 && a < 1) return { policy: name, threshold: a };
  throw new InvalidArgumentError(usage);
}
