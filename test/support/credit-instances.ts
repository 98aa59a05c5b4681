/** Rows from examples/credit/credit_data.csv as API instances, for tests and benchmarks. */
export const CREDIT_INSTANCE = {
  Seniority: 9,
  Home: 'rent',
  Time: 60,
  Age: 30,
  Marital: 'married',
  Records: 'no',
  Job: 'freelance',
  Expenses: 73,
  Income: 129,
  Assets: 0,
  Debt: 0,
  Amount: 800,
  Price: 846,
} as const;

/** A second, riskier applicant: many records, part-time job, big loan for the price. */
export const RISKY_CREDIT_INSTANCE = {
  ...CREDIT_INSTANCE,
  Seniority: 0,
  Records: 'yes',
  Job: 'partime',
  Income: 60,
  Amount: 2000,
  Price: 2100,
} as const;

export function creditBatch(size: number): Record<string, number | string | null>[] {
  return Array.from({ length: size }, (_, i) => ({ ...CREDIT_INSTANCE, Age: 20 + (i % 50), Amount: 500 + 10 * (i % 100) }));
}
