import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { installedChartJs, vendorModule } from '../../../scripts/vendor-chart-js.ts';

describe('lambdas/core/vendor/chart-js.ts', () => {
  it('is the installed chart.js build, as scripts/vendor-chart-js.ts writes it', () => {
    const { version, source } = installedChartJs();
    const committed = readFileSync(new URL('../../../lambdas/core/vendor/chart-js.ts', import.meta.url), 'utf8');
    expect(committed === vendorModule(version, source), 'run npx tsx scripts/vendor-chart-js.ts after upgrading chart.js').toBe(true);
    expect(source).toContain(`Chart.js v${version}`);
  });
});
