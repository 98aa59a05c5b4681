import { describe, expect, it } from 'vitest';
import { BASELINE_COLOUR, VERDICT_COLOURS, escapeHtml, featuresBySeverity, renderDriftHtml } from '#core/drift/html-report.ts';
import type { DriftReportDocument } from '#core/drift/job.ts';
import type { FeatureDrift, MissingDrift } from '#core/drift/report.ts';
import { DEFAULT_DRIFT_THRESHOLDS } from '#core/drift/report.ts';
import { CHART_JS_SOURCE } from '#core/vendor/chart-js.ts';

/** The self-contained HTML drift report: what it says, in which order, and that no value can break out of it. */

const MISSING_OK: MissingDrift = { reference_rate: 0, current_rate: 0, statistic: 0, p_value: 1, psi: 0, drifted: false, verdict: 'ok' };

function numeric(name: string, over: Partial<FeatureDrift> = {}): FeatureDrift {
  return {
    name,
    type: 'numeric',
    test: 'ks',
    statistic: 0.25,
    p_value: 0.001234,
    psi: 0.3,
    wasserstein: 1.5,
    wasserstein_normalised: 0.5,
    wasserstein_noise: 0.05,
    count: 120,
    missing_rate: 0.025,
    baseline_missing_rate: 0.0125,
    missing: MISSING_OK,
    drifted: true,
    verdict: 'critical',
    ...over,
  };
}

function categoricalFeature(name: string, over: Partial<FeatureDrift> = {}): FeatureDrift {
  return {
    name,
    type: 'categorical',
    test: 'chi_square',
    statistic: 1,
    p_value: 0.5,
    psi: 0.01,
    unseen_categories: [],
    count: 120,
    missing_rate: 0,
    baseline_missing_rate: 0,
    missing: MISSING_OK,
    drifted: false,
    verdict: 'ok',
    ...over,
  };
}

function documentOf(over: Partial<DriftReportDocument> = {}): DriftReportDocument {
  return {
    verdict: 'critical',
    rows: 120,
    features: [categoricalFeature('home'), numeric('income')],
    drifted_share: 0.5,
    drift_score: 0.3,
    thresholds: DEFAULT_DRIFT_THRESHOLDS,
    model: 'credit',
    model_version: 3,
    kind: 'hourly',
    generated_at: '2026-12-01T09:05:01.000Z',
    window: { from: '2026-12-01T08:05:00.000Z', to: '2026-12-01T09:05:00.000Z', duration_ms: 3_600_000, captured_rows: 120, sampled_rows: 120 },
    distributions: {
      income: { bins: ['≤ 10', '> 10'], baseline: [0.5, 0.5], current: [0.2, 0.8] },
      home: { bins: ['own', 'rent'], baseline: [0.5, 0.5], current: [0.5, 0.5] },
    },
    performance: {
      labelled: 0,
      unmatched: 0,
      unknown_labels: 0,
      accuracy: { live: null, holdout: 0.9, drop: null, verdict: 'insufficient_data' },
      roc_auc: { live: null, holdout: 0.9, drop: null, verdict: 'insufficient_data' },
      verdict: 'insufficient_data',
    },
    drifted_features: ['income'],
    report_keys: { json: 'drift-reports/credit/2026-12-01/0905-hourly.json', html: 'drift-reports/credit/2026-12-01/0905-hourly.html' },
    ...over,
  };
}

/** The page's chart data, parsed from its inline JSON. */
function chartData(html: string): {
  psi: { labels: string[]; values: number[]; colours: string[]; axisTitle: string };
  distributions: { id: string; bins: string[]; baseline: number[]; current: number[]; colour: string }[];
  baselineColour: string;
} {
  const match = /<script type="application\/json" id="chart-data">(.*?)<\/script>/s.exec(html);
  if (match === null) throw new Error('no chart data');
  return JSON.parse(match[1] as string);
}

/** A two-column table's rows, header cell to data cell; the table holds those rows and nothing between them. */
function rowsOf(table: string): Record<string, string> {
  const rows = [...table.matchAll(/<tr><th>(.*?)<\/th><td>(.*?)<\/td><\/tr>/g)];
  expect(rows.map((m) => m[0]).join('')).toBe(table);
  return Object.fromEntries(rows.map((m) => [m[1], m[2]]));
}

/** The summary table's rows, header cell to data cell. */
function summary(html: string): Record<string, string> {
  return rowsOf(/<table class="summary">(.*?)<\/table>/s.exec(html)?.[1] ?? '');
}

/** The statistics table of the section with this index, header cell to data cell. */
function stats(html: string, index: number): Record<string, string> {
  const section = new RegExp(`<section class="feature" id="feature-${index}">(.*?)</section>`, 's').exec(html)?.[1] ?? '';
  return rowsOf(/<table class="stats">(.*?)<\/table>/s.exec(section)?.[1] ?? '');
}

describe('escapeHtml', () => {
  it('escapes the five characters that matter in content and attributes', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
    expect(escapeHtml('plain')).toBe('plain');
  });
});

describe('featuresBySeverity', () => {
  const f = (name: string, verdict: FeatureDrift['verdict'], psi: number | null) => categoricalFeature(name, { verdict, psi });

  it('orders by severity, then PSI (largest first, untested last), then name', () => {
    const ordered = featuresBySeverity([f('a', 'ok', 0.01), f('b', 'insufficient_data', null), f('c', 'warning', 0.2), f('d', 'critical', 0.3), f('e', 'ok', 0.05), f('f', 'ok', 0.05), f('g', 'ok', null)]);
    expect(ordered.map((x) => x.name)).toEqual(['d', 'c', 'e', 'f', 'a', 'g', 'b']);
  });

  it('orders within a level by importance first, features without one last', () => {
    const ordered = featuresBySeverity([f('a', 'ok', 0.5), f('b', 'ok', 0.01), f('c', 'ok', 0.9), f('d', 'critical', 0.3)], { b: 0.7, a: 0.2 });
    expect(ordered.map((x) => x.name)).toEqual(['d', 'b', 'a', 'c']);
  });

  it('puts an untested feature after the tested ones of its level, whichever comes first in the input', () => {
    expect(featuresBySeverity([f('g', 'ok', null), f('a', 'ok', 0.01)]).map((x) => x.name)).toEqual(['a', 'g']);
    expect(featuresBySeverity([f('a', 'ok', 0.01), f('g', 'ok', null)]).map((x) => x.name)).toEqual(['a', 'g']);
  });

  it('does not reorder its argument', () => {
    const features = [f('a', 'ok', 0.01), f('b', 'critical', 0.5)];
    featuresBySeverity(features);
    expect(features.map((x) => x.name)).toEqual(['a', 'b']);
  });
});

describe('renderDriftHtml', () => {
  it('is one self-contained page: Chart.js and the drawing script inline, no external resource', () => {
    const html = renderDriftHtml(documentOf());
    expect(html.startsWith('<!doctype html>\n<html lang="en">')).toBe(true);
    expect(html.trimEnd().endsWith('</body></html>')).toBe(true);
    expect(html).toContain(`<script>${CHART_JS_SOURCE}</script>`);
    expect(html).toContain("new Chart(document.getElementById('psi-chart')");
    expect(html).toContain("document.body.dataset.ready = 'true';");
    expect(html).toContain('<style>\nbody{font-family:system-ui,sans-serif;');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/);
    expect(html).toContain('<title>Drift report: credit v3 2026-12-01T09:05:00.000Z</title>');
    expect(html).toContain(`<h1>Drift report: credit version 3 <span class="badge" style="background:${VERDICT_COLOURS.critical}">critical</span></h1>`);
  });

  it('summarises the run', () => {
    const rows = summary(renderDriftHtml(documentOf()));
    expect(rows).toEqual({
      verdict: `<span class="badge" style="background:${VERDICT_COLOURS.critical}">critical</span>`,
      model: 'credit version 3',
      window: '2026-12-01T08:05:00.000Z → 2026-12-01T09:05:00.000Z (hourly)',
      rows: '120',
      'drifted features': '1 of 2 (50.0%): income',
      'drift score (largest significant PSI)': '0.3000',
      thresholds:
        'p &lt; 0.05; drifted when also PSI &gt; 0.1 or W/std beyond its noise level &gt; 0.1; warning at 20% of features or PSI &gt; 0.1, critical at 30% or PSI &gt; 0.25; at least 50 rows',
      'live performance': 'no feedback labels joined',
      retraining: '–',
    });
  });

  it('says no feature drifted without a list, and what became of the retrain and the labels', () => {
    const requested = summary(
      renderDriftHtml(
        documentOf({
          drifted_features: [],
          drifted_share: 0,
          retrain: { requested: true, reason: 'critical drift <now>', run_id: 'drift-credit-1' },
          performance: {
            labelled: 80,
            unmatched: 0,
            unknown_labels: 0,
            accuracy: { live: 0.8, holdout: 0.9, drop: 0.1, verdict: 'degraded' },
            roc_auc: { live: null, holdout: 0.9, drop: null, verdict: 'insufficient_data' },
            verdict: 'degraded',
          },
        }),
      ),
    );
    expect(requested['drifted features']).toBe('0 of 2 (0.0%)');
    const both = summary(renderDriftHtml(documentOf({ drifted_features: ['income', 'home'], drifted_share: 1 })));
    expect(both['drifted features']).toBe('2 of 2 (100.0%): income, home');
    expect(requested.retraining).toBe('requested (drift-credit-1): critical drift &lt;now&gt;');
    expect(requested['live performance']).toBe('80 labels: accuracy 0.8000 (holdout 0.9000), ROC AUC – (holdout 0.9000) — degraded');
    const declined = summary(renderDriftHtml(documentOf({ retrain: { requested: false, reason: 'cooldown' } })));
    expect(declined.retraining).toBe('not requested: cooldown');
    const noId = summary(renderDriftHtml(documentOf({ retrain: { requested: true, reason: 'r' } })));
    expect(noId.retraining).toBe('requested (): r');
  });

  it('lists the features by severity in the overview, each linked to its section, with importance when given', () => {
    const html = renderDriftHtml(documentOf());
    const overview = /<table class="overview">(.*?)<\/table>/s.exec(html)?.[1] ?? '';
    expect(overview).toBe(
      '<thead><tr><th>feature</th><th>verdict</th><th>test</th><th>p-value</th><th>PSI</th><th>W / std</th><th>missing now</th><th>missing in training</th></tr></thead><tbody>' +
        `<tr><td><a href="#feature-1">income</a></td><td><span class="badge" style="background:${VERDICT_COLOURS.critical}">critical</span></td><td>KS</td><td>0.001234</td><td>0.3000</td><td>0.5000</td><td>2.5%</td><td>1.3%</td></tr>` +
        `<tr><td><a href="#feature-2">home</a></td><td><span class="badge" style="background:${VERDICT_COLOURS.ok}">ok</span></td><td>chi-square</td><td>0.500000</td><td>0.0100</td><td>–</td><td>0.0%</td><td>0.0%</td></tr>` +
        '</tbody>',
    );
    expect(html).toContain('<h2>Features by severity</h2>');
    const weighted = renderDriftHtml(documentOf(), { importance: { income: 0.25, home: 0.000012 } });
    expect(weighted).toContain('<h2>Features by severity, then importance</h2>');
    expect(weighted).toContain('<th>importance</th></tr></thead>');
    expect(weighted).toContain('<td>0.2500</td></tr>');
    expect(weighted).toContain('<td>1.20e-5</td></tr>');
  });

  it('gives each feature a section with its chart, statistics, missing rates and verdict', () => {
    const html = renderDriftHtml(
      documentOf({
        features: [
          numeric('income', { missing: { reference_rate: 0.0125, current_rate: 0.025, statistic: 12.5, p_value: 0.0004, psi: 0.2, drifted: true, verdict: 'warning' } }),
          categoricalFeature('home', { unseen_categories: ['boat', '<b>'], p_value: 1e-7, statistic: Number.POSITIVE_INFINITY }),
        ],
      }),
    );
    expect(html).toContain(
      `<section class="feature" id="feature-1"><h2>income <span class="badge" style="background:${VERDICT_COLOURS.critical}">critical</span></h2><div class="chart-box"><canvas id="dist-1" role="img" aria-label="income: baseline and current share per bin"></canvas></div>`,
    );
    expect(stats(html, 1)).toEqual({
      test: 'Kolmogorov–Smirnov (two-sample)',
      statistic: '0.2500',
      'p-value': '0.001234',
      PSI: '0.3000',
      'Wasserstein-1': '1.5000',
      'Wasserstein / baseline std': '0.5000',
      'its noise level at these sizes': '0.0500',
      values: '120',
      'missing (current / baseline)': '2.5% / 1.3%',
      'missing-rate test': 'χ² 12.5000, p 0.000400, PSI 0.2000 — <strong>warning</strong>',
    });
    // One section a line, in the page's order.
    expect(html).toContain('</section>\n<section class="feature" id="feature-2">');
    expect(stats(html, 2)).toEqual({
      test: 'chi-square (test of homogeneity, 2 × k)',
      statistic: 'Infinity',
      'p-value': '1.00e-7',
      PSI: '0.0100',
      'unseen categories': 'boat, &lt;b&gt;',
      values: '120',
      'missing (current / baseline)': '0.0% / 0.0%',
      'missing-rate test': 'χ² 0.0000, p 1.000000, PSI 0.0000',
    });
  });

  it('reads reports written before the missing-rate test and the noise level', () => {
    const { missing: _missing, wasserstein_noise: _noise, ...old } = numeric('income');
    const html = renderDriftHtml(documentOf({ features: [old as FeatureDrift], distributions: {} }));
    const rows = stats(html, 1);
    expect(rows).not.toHaveProperty('missing-rate test');
    expect(rows).not.toHaveProperty('its noise level at these sizes');
    expect(rows['Wasserstein-1']).toBe('1.5000');
    expect(html).toContain('<p>no distribution</p>');
    expect(chartData(html).distributions).toEqual([]);
  });

  it('shows no row for a statistic a feature lacks, whether the key is absent, undefined or an empty list', () => {
    const html = renderDriftHtml(
      documentOf({
        features: [numeric('income', { wasserstein: undefined, wasserstein_normalised: undefined, wasserstein_noise: undefined }), categoricalFeature('home', { unseen_categories: undefined }), categoricalFeature('job')],
      }),
    );
    expect(Object.keys(stats(html, 1))).toEqual(['test', 'statistic', 'p-value', 'PSI', 'values', 'missing (current / baseline)', 'missing-rate test']);
    expect(Object.keys(stats(html, 2))).toEqual(['test', 'statistic', 'p-value', 'PSI', 'values', 'missing (current / baseline)', 'missing-rate test']);
    expect(Object.keys(stats(html, 3))).toEqual(['test', 'statistic', 'p-value', 'PSI', 'values', 'missing (current / baseline)', 'missing-rate test']);
  });

  it('writes a missing rate that is not a number as a dash, and values down to 10⁻⁴ in fixed notation', () => {
    const html = renderDriftHtml(documentOf({ features: [numeric('income', { missing_rate: Number.NaN, psi: 1e-4, p_value: 1e-4, statistic: 9.9e-5 })], distributions: {} }));
    expect(stats(html, 1)).toMatchObject({ statistic: '9.90e-5', 'p-value': '0.000100', PSI: '0.0001', 'missing (current / baseline)': '– / 1.3%' });
    expect(html).toContain('<td>0.000100</td><td>0.0001</td><td>0.5000</td><td>–</td><td>1.3%</td></tr>');
  });

  it('colours each verdict as docs/drift.md says: ok green, warning orange, critical red, untested grey, the baseline bars light grey', () => {
    const html = renderDriftHtml(
      documentOf({
        features: [numeric('a'), numeric('b', { verdict: 'warning' }), categoricalFeature('c'), categoricalFeature('d', { verdict: 'insufficient_data', psi: null })],
        distributions: { a: { bins: ['x'], baseline: [1], current: [1] } },
      }),
    );
    expect(chartData(html).psi.colours).toEqual(['#c62828', '#ef6c00', '#2e7d32', '#616161']);
    expect(chartData(html).distributions.map((d) => d.colour)).toEqual(['#c62828']);
    expect(chartData(html).baselineColour).toBe('#9e9e9e');
    for (const [verdict, colour] of [['critical', '#c62828'], ['warning', '#ef6c00'], ['ok', '#2e7d32'], ['insufficient data', '#616161']]) {
      expect(html).toContain(`<span class="badge" style="background:${colour}">${verdict}</span>`);
    }
  });

  it('charts each feature\'s PSI and distributions in the page\'s order, coloured by verdict', () => {
    const data = chartData(renderDriftHtml(documentOf()));
    expect(data.psi).toEqual({
      labels: ['income', 'home'],
      values: [0.3, 0.01],
      colours: [VERDICT_COLOURS.critical, VERDICT_COLOURS.ok],
      axisTitle: 'PSI (drifted above 0.1 when significant, critical above 0.25)',
    });
    expect(data.baselineColour).toBe(BASELINE_COLOUR);
    expect(data.distributions).toEqual([
      { id: 'dist-1', bins: ['≤ 10', '> 10'], baseline: [0.5, 0.5], current: [0.2, 0.8], colour: VERDICT_COLOURS.critical },
      { id: 'dist-2', bins: ['own', 'rent'], baseline: [0.5, 0.5], current: [0.5, 0.5], colour: VERDICT_COLOURS.ok },
    ]);
    const untested = chartData(renderDriftHtml(documentOf({ features: [categoricalFeature('home', { psi: null, verdict: 'insufficient_data' })] })));
    expect(untested.psi.values).toEqual([0]);
  });

  it('adds the prediction score\'s section and chart last', () => {
    const html = renderDriftHtml(
      documentOf({
        prediction: { test: 'ks', statistic: 0.1, p_value: 0.2, psi: 0.05, wasserstein: 0.01, wasserstein_normalised: 0.04, wasserstein_noise: 0.03, count: 120, drifted: false, verdict: 'ok' },
        prediction_distribution: { bins: ['≤ 0.5', '> 0.5'], baseline: [0.5, 0.5], current: [0.4, 0.6] },
      }),
    );
    expect(html).toContain(`<section class="feature" id="feature-0"><h2>prediction score <span class="badge" style="background:${VERDICT_COLOURS.ok}">ok</span></h2><div class="chart-box"><canvas id="dist-0"`);
    expect(stats(html, 0)).toMatchObject({ values: '120', 'Wasserstein / baseline std': '0.0400' });
    expect(stats(html, 0)).not.toHaveProperty('missing (current / baseline)');
    expect(html.indexOf('id="feature-0"')).toBeGreaterThan(html.indexOf('id="feature-2"'));
    expect(chartData(html).distributions.at(-1)).toEqual({ id: 'dist-0', bins: ['≤ 0.5', '> 0.5'], baseline: [0.5, 0.5], current: [0.4, 0.6], colour: VERDICT_COLOURS.ok });
    const bare = renderDriftHtml(documentOf({ prediction: { test: 'ks', statistic: null, p_value: null, psi: null, wasserstein: null, wasserstein_normalised: null, wasserstein_noise: null, count: 3, drifted: false, verdict: 'insufficient_data' } }));
    expect(bare).toContain('<section class="feature" id="feature-0"><h2>prediction score <span class="badge" style="background:#616161">insufficient data</span></h2><p>no distribution</p>');
    expect(chartData(bare).distributions.map((d) => d.id)).toEqual(['dist-1', 'dist-2']);
  });

  it('sizes the PSI chart to the features, 160 px at least', () => {
    expect(renderDriftHtml(documentOf({ features: [numeric('a')] }))).toContain('<div class="chart-box" style="height:160px">');
    const ten = Array.from({ length: 10 }, (_, i) => numeric(`f${i}`));
    expect(renderDriftHtml(documentOf({ features: ten }))).toContain('<div class="chart-box" style="height:340px">');
    const four = Array.from({ length: 4 }, (_, i) => numeric(`f${i}`));
    expect(renderDriftHtml(documentOf({ features: four }))).toContain('<div class="chart-box" style="height:172px">');
  });

  it('lets no feature name, category or key close its element or run a script', () => {
    const evil = '</script><script>alert(1)</script>\u2028\u2029';
    const html = renderDriftHtml(
      documentOf({
        model: '<m>',
        features: [categoricalFeature(evil, { unseen_categories: [evil] })],
        distributions: { [evil]: { bins: [evil], baseline: [1], current: [1] } },
        drifted_features: [evil],
        report_keys: { json: '<j>', html: 'h' },
        generated_at: '"g"',
      }),
    );
    expect(html).not.toContain('<script>alert(1)');
    // In the inline JSON, the line separators JavaScript once read as line ends are escaped too.
    const json = /<script type="application\/json" id="chart-data">(.*?)<\/script>/s.exec(html)?.[1] ?? '';
    expect(json).toContain('\\u003c/script>');
    expect(json).toContain('\\u2028\\u2029');
    expect(json).not.toMatch(/[\u2028\u2029<]/);
    expect(html).toContain('&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('Drift report: &lt;m&gt; version 3');
    expect(html).toContain('JSON: &lt;j&gt;.');
    expect(html).toContain('Generated &quot;g&quot; by');
    const data = chartData(html);
    expect(data.psi.labels).toEqual([evil]);
    expect(data.distributions[0]?.bins).toEqual([evil]);
  });
});
