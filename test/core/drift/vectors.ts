/** Loads the SciPy reference vectors written by scripts/drift-vectors/generate.py. */
import { readFileSync } from 'node:fs';

export interface VectorMeta {
  readonly generator: string;
  readonly python: string;
  readonly scipy: string;
  readonly numpy: string;
}

export interface KsVector {
  readonly name: string;
  readonly a: number[];
  readonly b: number[];
  readonly statistic: number;
  readonly pvalue: number;
  readonly method: 'exact' | 'asymp';
}

export interface KstwoVector {
  readonly n: number;
  readonly d: number;
  readonly sf: number;
}

export interface WassersteinVector {
  readonly name: string;
  readonly u: number[];
  readonly v: number[];
  readonly distance: number;
}

export interface ChiSquareVector {
  readonly name: string;
  readonly observed: number[];
  readonly expected?: number[];
  readonly statistic: number;
  readonly pvalue: number;
  readonly dof: number;
}

function load<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../../fixtures/drift/${name}`, import.meta.url), 'utf8')) as T;
}

export const ksVectors = load<{
  meta: VectorMeta;
  ks_2samp: KsVector[];
  kstwo_sf: KstwoVector[];
  wasserstein: WassersteinVector[];
}>('ks_2samp.json');

export const chiSquareVectors = load<{ meta: VectorMeta; chisquare: ChiSquareVector[] }>('chisquare.json');

export interface ContingencyVector {
  readonly name: string;
  readonly observed: number[][];
  readonly statistic: number;
  readonly pvalue: number;
  readonly dof: number;
  readonly expected: number[][];
}

/** The expected statistics of `mlops drift compare` on test/fixtures/drift/compare-{reference,current}.csv. */
export interface CompareVector {
  readonly reference_rows: number;
  readonly current_rows: number;
  readonly income: {
    readonly statistic: number;
    readonly pvalue: number;
    readonly missing_rate: { readonly reference: number; readonly current: number };
    readonly missing_test: { readonly table: number[][]; readonly statistic: number; readonly pvalue: number };
  };
  readonly home: { readonly categories: string[]; readonly table: number[][]; readonly statistic: number; readonly pvalue: number; readonly dof: number };
}

export const contingencyVectors = load<{ meta: VectorMeta; chi2_contingency: ContingencyVector[]; compare: CompareVector }>('chi2_contingency.json');

/** The tolerances the drift issue sets against SciPy. */
export const STATISTIC_TOLERANCE = 1e-9;
export const PVALUE_TOLERANCE = 1e-6;
