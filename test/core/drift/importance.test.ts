import { describe, expect, it } from 'vitest';
import { SeededRandom } from '#core/data/random.ts';
import { driftReport, IGNORED_IMPORTANCE_SHARE } from '#core/drift/report.ts';
import { profileNumeric } from '#core/profile/baseline.ts';

/** The drift report weighed by the version's global importance (mean |SHAP|): drift the model ignores pages nobody. */

const random = new SeededRandom(5);
const normal = (shift: number) => Array.from({ length: 1000 }, () => ({ used: random.next() * 10, ignored: random.next() * 10 + shift }));
const training = normal(0);
const baseline = { used: profileNumeric('used', training), ignored: profileNumeric('ignored', training) };
// The window moves only the feature the model ignores, far.
const current = normal(0).map((row, i) => ({ ...row, ignored: (row.ignored as number) + 6 + (i % 3) }));

describe('driftReport with global importance', () => {
  it('without importance, a shifted feature raises the verdict whatever the model makes of it', () => {
    const report = driftReport({ baseline, current });
    expect(report.verdict).toBe('critical');
    expect(report.drifted_share).toBe(0.5);
    expect(report).not.toHaveProperty('weighted_by_importance');
  });

  it('reports the ignored feature as drifted, lists features by importance, and keeps the verdict ok', () => {
    const report = driftReport({ baseline, current, importance: { ignored: 0.004, used: 0.9 } });
    expect(report.features.map((f) => [f.name, f.drifted])).toEqual([
      ['used', false],
      ['ignored', true],
    ]);
    expect(report.features[1]?.importance).toBeLessThan(IGNORED_IMPORTANCE_SHARE);
    expect(report.drifted_share).toBeCloseTo(0.004 / 0.904, 12);
    expect(report.verdict).toBe('ok');
    expect(report.weighted_by_importance).toBe(true);
  });

  it('still pages when the drifted feature carries the model', () => {
    const report = driftReport({ baseline, current, importance: { ignored: 0.6, used: 0.4 } });
    expect(report.features.map((f) => f.name)).toEqual(['ignored', 'used']);
    expect(report.drifted_share).toBeCloseTo(0.6, 12);
    expect(report.verdict).toBe('critical');
  });
});
