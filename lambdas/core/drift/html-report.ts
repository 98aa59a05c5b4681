/**
 * The drift report as one self-contained HTML page (inline CSS, Chart.js and the data inline, no external
 * resource), so it opens from S3 or a disk as it is. It opens with the summary and every feature in order of
 * severity (critical, warning, ok, then untested; within a level by importance when the model's explanations give
 * one, then by PSI), as a table that reads without scripts and a chart of each feature's PSI; then per feature, in
 * the same order, the baseline and current distributions on the same bins (full width, labels rotated or thinned
 * by Chart.js), the statistics, the missing rates and the verdict.
 */
import { CHART_JS_SOURCE } from '#core/vendor/chart-js.ts';
import type { Distribution } from './distributions.ts';
import type { DriftReportDocument } from './report-document.ts';
import type { DriftVerdict, FeatureDrift, PredictionDrift } from './report.ts';

export const VERDICT_COLOURS: Record<DriftVerdict, string> = { ok: '#2e7d32', warning: '#ef6c00', critical: '#c62828', insufficient_data: '#616161' };

/** The baseline's bars; the current ones take the verdict's colour. */
export const BASELINE_COLOUR = '#9e9e9e';

const SEVERITY: Record<DriftVerdict, number> = { critical: 0, warning: 1, ok: 2, insufficient_data: 3 };

export interface DriftHtmlOptions {
  /** Global importance per feature (mean |SHAP| from the model's explanations), to order features within a level. */
  readonly importance?: Readonly<Record<string, number>>;
}

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** JSON for an inline `<script>`: `<` escaped, so no value can close the element. */
function inlineJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function fmt(value: number | null | undefined, digits = 4): string {
  if (value === null || value === undefined) return '–';
  if (!Number.isFinite(value)) return String(value);
  if (value !== 0 && Math.abs(value) < 1e-4) return value.toExponential(2);
  return value.toFixed(digits);
}

function pct(rate: number | undefined): string {
  return rate === undefined || !Number.isFinite(rate) ? '–' : `${(rate * 100).toFixed(1)}%`;
}

function badge(verdict: DriftVerdict): string {
  return `<span class="badge" style="background:${VERDICT_COLOURS[verdict]}">${escapeHtml(verdict.replace('_', ' '))}</span>`;
}

/**
 * The features in the order the report shows them: by severity, then by importance (largest first) when known,
 * then by PSI (largest first), then by name.
 */
export function featuresBySeverity(features: readonly FeatureDrift[], importance?: Readonly<Record<string, number>>): FeatureDrift[] {
  const weight = (name: string): number => (importance !== undefined && Object.hasOwn(importance, name) ? (importance[name] ?? 0) : -1);
  return [...features].sort(
    (a, b) =>
      SEVERITY[a.verdict] - SEVERITY[b.verdict] ||
      weight(b.name) - weight(a.name) ||
      (b.psi ?? -1) - (a.psi ?? -1) ||
      a.name.localeCompare(b.name),
  );
}

function statsTable(check: FeatureDrift | PredictionDrift): string {
  const rows: [string, string][] = [
    ['test', check.test === 'ks' ? 'Kolmogorov–Smirnov (two-sample)' : 'chi-square (test of homogeneity, 2 × k)'],
    ['statistic', fmt(check.statistic)],
    ['p-value', fmt(check.p_value, 6)],
    ['PSI', fmt(check.psi)],
  ];
  if ('wasserstein_normalised' in check && check.wasserstein_normalised !== undefined) {
    rows.push(['Wasserstein-1', fmt(check.wasserstein)], ['Wasserstein / baseline std', fmt(check.wasserstein_normalised)]);
    if (check.wasserstein_noise !== undefined) rows.push(['its noise level at these sizes', fmt(check.wasserstein_noise)]);
  }
  if ('unseen_categories' in check && check.unseen_categories !== undefined && check.unseen_categories.length > 0) {
    rows.push(['unseen categories', check.unseen_categories.map(escapeHtml).join(', ')]);
  }
  rows.push(['values', String(check.count)]);
  if ('missing_rate' in check) {
    rows.push(['missing (current / baseline)', `${pct(check.missing_rate)} / ${pct(check.baseline_missing_rate)}`]);
    // Reports written before the missing-rate test have no `missing`.
    if (check.missing !== undefined) {
      rows.push([
        'missing-rate test',
        `χ² ${fmt(check.missing.statistic)}, p ${fmt(check.missing.p_value, 6)}, PSI ${fmt(check.missing.psi)}${check.missing.drifted ? ` — <strong>${escapeHtml(check.missing.verdict)}</strong>` : ''}`,
      ]);
    }
  }
  return `<table class="stats">${rows.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join('')}</table>`;
}

function section(index: number, title: string, check: FeatureDrift | PredictionDrift, distribution: Distribution | undefined): string {
  const chart =
    distribution === undefined
      ? '<p>no distribution</p>'
      : `<div class="chart-box"><canvas id="dist-${index}" role="img" aria-label="${escapeHtml(title)}: baseline and current share per bin"></canvas></div>`;
  return `<section class="feature" id="feature-${index}"><h2>${escapeHtml(title)} ${badge(check.verdict)}</h2>${chart}${statsTable(check)}</section>`;
}

function overviewTable(features: readonly FeatureDrift[], importance: Readonly<Record<string, number>> | undefined): string {
  const head = ['feature', 'verdict', 'test', 'p-value', 'PSI', 'W / std', 'missing now', 'missing in training', ...(importance === undefined ? [] : ['importance'])];
  const rows = features.map((f, i) => {
    const cells = [
      `<a href="#feature-${i + 1}">${escapeHtml(f.name)}</a>`,
      badge(f.verdict),
      f.test === 'ks' ? 'KS' : 'chi-square',
      fmt(f.p_value, 6),
      fmt(f.psi),
      fmt(f.wasserstein_normalised),
      pct(f.missing_rate),
      pct(f.baseline_missing_rate),
      ...(importance === undefined ? [] : [fmt(importance[f.name])]),
    ];
    return `<tr>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;
  });
  return `<table class="overview"><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/** What the page's script draws: the PSI overview and each section's distribution, in the page's order. */
interface ChartData {
  readonly psi: { readonly labels: string[]; readonly values: number[]; readonly colours: string[]; readonly axisTitle: string };
  readonly distributions: { readonly id: string; readonly bins: string[]; readonly baseline: number[]; readonly current: number[]; readonly colour: string }[];
  readonly baselineColour: string;
}

const SCRIPT = String.raw`
(function () {
  const data = JSON.parse(document.getElementById('chart-data').textContent);
  Chart.defaults.animation = false;
  Chart.defaults.font.size = 12;
  const percent = (v) => (v * 100).toFixed(v < 0.1 ? 1 : 0) + '%';
  new Chart(document.getElementById('psi-chart'), {
    type: 'bar',
    data: { labels: data.psi.labels, datasets: [{ label: 'PSI', data: data.psi.values, backgroundColor: data.psi.colours }] },
    options: {
      indexAxis: 'y', maintainAspectRatio: false,
      plugins: { legend: { display: false } },
      scales: { x: { beginAtZero: true, title: { display: true, text: data.psi.axisTitle } }, y: { ticks: { autoSkip: false } } },
    },
  });
  for (const d of data.distributions) {
    new Chart(document.getElementById(d.id), {
      type: 'bar',
      data: {
        labels: d.bins,
        datasets: [
          { label: 'baseline (training)', data: d.baseline, backgroundColor: data.baselineColour },
          { label: 'current window', data: d.current, backgroundColor: d.colour },
        ],
      },
      options: {
        maintainAspectRatio: false,
        plugins: { tooltip: { callbacks: { label: (c) => c.dataset.label + ': ' + percent(c.parsed.y) } } },
        scales: {
          x: { ticks: { autoSkip: true, maxRotation: 45, minRotation: 0 } },
          y: { beginAtZero: true, ticks: { callback: (v) => percent(v) }, title: { display: true, text: 'share of values' } },
        },
      },
    });
  }
  document.body.dataset.ready = 'true';
})();
`;

/** Renders the report document as a self-contained HTML page. */
export function renderDriftHtml(doc: DriftReportDocument, options: DriftHtmlOptions = {}): string {
  const t = doc.thresholds;
  const perf = doc.performance;
  const ordered = featuresBySeverity(doc.features, options.importance);
  const summary: [string, string][] = [
    ['verdict', badge(doc.verdict)],
    ['model', `${escapeHtml(doc.model)} version ${doc.model_version}`],
    ['window', `${escapeHtml(doc.window.from)} → ${escapeHtml(doc.window.to)} (${doc.kind})`],
    ['rows', String(doc.rows)],
    ['drifted features', `${doc.drifted_features.length} of ${doc.features.length} (${(doc.drifted_share * 100).toFixed(1)}%)${doc.drifted_features.length > 0 ? `: ${doc.drifted_features.map(escapeHtml).join(', ')}` : ''}`],
    ['drift score (largest significant PSI)', fmt(doc.drift_score)],
    [
      'thresholds',
      `p &lt; ${t.pValue}; drifted when also PSI &gt; ${t.psiWarning} or W/std beyond its noise level &gt; ${t.wassersteinBound}; warning at ${t.shareWarning * 100}% of features or PSI &gt; ${t.psiWarning}, critical at ${t.shareCritical * 100}% or PSI &gt; ${t.psiCritical}; at least ${t.minRows} rows`,
    ],
    [
      'live performance',
      perf.labelled === 0
        ? 'no feedback labels joined'
        : `${perf.labelled} labels: accuracy ${fmt(perf.accuracy.live)} (holdout ${fmt(perf.accuracy.holdout)}), ROC AUC ${fmt(perf.roc_auc.live)} (holdout ${fmt(perf.roc_auc.holdout)}) — ${escapeHtml(perf.verdict)}`,
    ],
    ['retraining', doc.retrain === undefined ? '–' : `${doc.retrain.requested ? `requested (${escapeHtml(doc.retrain.run_id ?? '')})` : 'not requested'}: ${escapeHtml(doc.retrain.reason)}`],
  ];
  const chartData: ChartData = {
    psi: {
      labels: ordered.map((f) => f.name),
      values: ordered.map((f) => f.psi ?? 0),
      colours: ordered.map((f) => VERDICT_COLOURS[f.verdict]),
      axisTitle: `PSI (drifted above ${t.psiWarning} when significant, critical above ${t.psiCritical})`,
    },
    distributions: [],
    baselineColour: BASELINE_COLOUR,
  };
  const sections = ordered.map((f, i) => section(i + 1, f.name, f, doc.distributions[f.name]));
  ordered.forEach((f, i) => {
    const d = doc.distributions[f.name];
    if (d !== undefined) chartData.distributions.push({ id: `dist-${i + 1}`, ...d, colour: VERDICT_COLOURS[f.verdict] });
  });
  if (doc.prediction !== undefined) {
    sections.push(section(0, 'prediction score', doc.prediction, doc.prediction_distribution));
    if (doc.prediction_distribution !== undefined) chartData.distributions.push({ id: 'dist-0', ...doc.prediction_distribution, colour: VERDICT_COLOURS[doc.prediction.verdict] });
  }
  const psiHeight = Math.max(160, 28 * ordered.length + 60);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Drift report: ${escapeHtml(doc.model)} v${doc.model_version} ${escapeHtml(doc.window.to)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5rem 2rem;color:#212121}
h1{font-size:1.5rem}h2{font-size:1.1rem;margin:0 0 .5rem}
.badge{color:#fff;border-radius:4px;padding:.1rem .5rem;font-size:.8rem;text-transform:uppercase;white-space:nowrap}
table{border-collapse:collapse}th,td{text-align:left;padding:.2rem .8rem;border-bottom:1px solid #eee;vertical-align:top}
.overview td:nth-child(n+4){text-align:right}
.feature,.card{border:1px solid #ddd;border-radius:6px;padding:1rem;margin:1rem 0}
.chart-box{position:relative;width:100%;height:300px;margin-bottom:.5rem}
.legend{font-size:.85rem;color:#555}
</style></head>
<body>
<h1>Drift report: ${escapeHtml(doc.model)} version ${doc.model_version} ${badge(doc.verdict)}</h1>
<table class="summary">${summary.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join('')}</table>
<section class="card"><h2>Features by severity${options.importance === undefined ? '' : ', then importance'}</h2>
<div class="chart-box" style="height:${psiHeight}px"><canvas id="psi-chart" role="img" aria-label="PSI per feature"></canvas></div>
${overviewTable(ordered, options.importance)}</section>
${sections.join('\n')}
<p class="legend">Generated ${escapeHtml(doc.generated_at)} by the serverless-mlops drift job. JSON: ${escapeHtml(doc.report_keys.json)}. Charts: Chart.js, inline.</p>
<script type="application/json" id="chart-data">${inlineJson(chartData)}</script>
<script>${CHART_JS_SOURCE}</script>
<script>${SCRIPT}</script>
</body></html>
`;
}
