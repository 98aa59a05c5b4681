/**
 * The drift report as one self-contained HTML page (inline CSS and SVG, no scripts, no external
 * resources), so it opens from S3 or a disk as it is: a summary, then per feature the baseline and
 * current distributions drawn side by side on the same bins, the statistics and the verdict.
 */
import type { Distribution } from './distributions.ts';
import type { DriftReportDocument } from './job.ts';
import type { DriftVerdict, FeatureDrift, PredictionDrift } from './report.ts';

const COLOURS: Record<DriftVerdict, string> = { ok: '#2e7d32', warning: '#ef6c00', critical: '#c62828', insufficient_data: '#616161' };

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

function fmt(value: number | null | undefined, digits = 4): string {
  if (value === null || value === undefined) return '–';
  if (!Number.isFinite(value)) return String(value);
  if (value !== 0 && Math.abs(value) < 1e-4) return value.toExponential(2);
  return value.toFixed(digits);
}

function badge(verdict: DriftVerdict): string {
  return `<span class="badge" style="background:${COLOURS[verdict]}">${escapeHtml(verdict.replace('_', ' '))}</span>`;
}

/** Grouped bars: baseline (grey) and current (the verdict's colour) share of each bin. */
export function distributionSvg(distribution: Distribution, verdict: DriftVerdict): string {
  const width = 560;
  const height = 180;
  const left = 36;
  const bottom = 46;
  const top = 10;
  const plotHeight = height - bottom - top;
  const n = Math.max(distribution.bins.length, 1);
  const slot = (width - left - 8) / n;
  const bar = Math.max(Math.min(slot / 2 - 2, 24), 1);
  const max = Math.max(...distribution.baseline, ...distribution.current, 0.01);
  const y = (share: number): number => top + plotHeight - (share / max) * plotHeight;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img">`,
    `<line x1="${left}" y1="${top + plotHeight}" x2="${width - 4}" y2="${top + plotHeight}" stroke="#999"/>`,
    `<text x="2" y="${top + 8}" class="axis">${(max * 100).toFixed(0)}%</text>`,
    `<text x="2" y="${top + plotHeight}" class="axis">0%</text>`,
  ];
  distribution.bins.forEach((label, i) => {
    const x = left + i * slot + slot / 2;
    const b = distribution.baseline[i] ?? 0;
    const c = distribution.current[i] ?? 0;
    parts.push(
      `<rect x="${(x - bar - 1).toFixed(1)}" y="${y(b).toFixed(1)}" width="${bar.toFixed(1)}" height="${(top + plotHeight - y(b)).toFixed(1)}" fill="#9e9e9e"><title>baseline ${escapeHtml(label)}: ${(b * 100).toFixed(1)}%</title></rect>`,
      `<rect x="${(x + 1).toFixed(1)}" y="${y(c).toFixed(1)}" width="${bar.toFixed(1)}" height="${(top + plotHeight - y(c)).toFixed(1)}" fill="${COLOURS[verdict]}"><title>current ${escapeHtml(label)}: ${(c * 100).toFixed(1)}%</title></rect>`,
      `<text x="${x.toFixed(1)}" y="${top + plotHeight + 12}" class="tick" transform="rotate(30 ${x.toFixed(1)} ${top + plotHeight + 12})">${escapeHtml(label.length > 18 ? `${label.slice(0, 17)}…` : label)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
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
  }
  if ('unseen_categories' in check && check.unseen_categories !== undefined && check.unseen_categories.length > 0) {
    rows.push(['unseen categories', check.unseen_categories.map(escapeHtml).join(', ')]);
  }
  rows.push(['values', String(check.count)]);
  if ('missing_rate' in check) {
    rows.push(['missing (current / baseline)', `${fmt(check.missing_rate * 100, 1)}% / ${fmt(check.baseline_missing_rate * 100, 1)}%`]);
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

function section(title: string, check: FeatureDrift | PredictionDrift, distribution: Distribution | undefined): string {
  const chart = distribution === undefined ? '<p>no distribution</p>' : distributionSvg(distribution, check.verdict);
  return `<section class="feature" id="${escapeHtml(title)}"><h2>${escapeHtml(title)} ${badge(check.verdict)}</h2><div class="row"><div>${chart}<p class="legend"><span class="key" style="background:#9e9e9e"></span>baseline <span class="key" style="background:${COLOURS[check.verdict]}"></span>current</p></div>${statsTable(check)}</div></section>`;
}

/** Renders the report document as a self-contained HTML page. */
export function renderDriftHtml(doc: DriftReportDocument): string {
  const t = doc.thresholds;
  const perf = doc.performance;
  const summary: [string, string][] = [
    ['verdict', badge(doc.verdict)],
    ['model', `${escapeHtml(doc.model)} version ${doc.model_version}`],
    ['window', `${escapeHtml(doc.window.from)} → ${escapeHtml(doc.window.to)} (${doc.kind})`],
    ['rows', String(doc.rows)],
    ['drifted features', `${doc.drifted_features.length} of ${doc.features.length} (${(doc.drifted_share * 100).toFixed(1)}%)${doc.drifted_features.length > 0 ? `: ${doc.drifted_features.map(escapeHtml).join(', ')}` : ''}`],
    ['drift score (largest significant PSI)', fmt(doc.drift_score)],
    [
      'thresholds',
      `p &lt; ${t.pValue}; drifted when also PSI &gt; ${t.psiWarning} or W/std &gt; ${t.wassersteinBound}; warning at ${t.shareWarning * 100}% of features or PSI &gt; ${t.psiWarning}, critical at ${t.shareCritical * 100}% or PSI &gt; ${t.psiCritical}; at least ${t.minRows} rows`,
    ],
    [
      'live performance',
      perf.labelled === 0
        ? 'no feedback labels joined'
        : `${perf.labelled} labels: accuracy ${fmt(perf.accuracy.live)} (holdout ${fmt(perf.accuracy.holdout)}), ROC AUC ${fmt(perf.roc_auc.live)} (holdout ${fmt(perf.roc_auc.holdout)}) — ${escapeHtml(perf.verdict)}`,
    ],
    ['retraining', doc.retrain === undefined ? '–' : `${doc.retrain.requested ? `requested (${escapeHtml(doc.retrain.run_id ?? '')})` : 'not requested'}: ${escapeHtml(doc.retrain.reason)}`],
  ];
  const sections = doc.features.map((f) => section(f.name, f, doc.distributions[f.name]));
  if (doc.prediction !== undefined) sections.unshift(section('prediction score', doc.prediction, doc.prediction_distribution));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Drift report: ${escapeHtml(doc.model)} v${doc.model_version} ${escapeHtml(doc.window.to)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#212121;max-width:1100px}
h1{font-size:1.5rem}h2{font-size:1.1rem;margin:0 0 .5rem}
.badge{color:#fff;border-radius:4px;padding:.1rem .5rem;font-size:.85rem;text-transform:uppercase}
table{border-collapse:collapse}th,td{text-align:left;padding:.2rem .8rem;border-bottom:1px solid #eee;vertical-align:top}
.feature{border:1px solid #ddd;border-radius:6px;padding:1rem;margin:1rem 0}
.row{display:flex;gap:1.5rem;flex-wrap:wrap;align-items:flex-start}
.axis,.tick{font-size:10px;fill:#555}.legend{font-size:.85rem}.key{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem 0 .8rem;vertical-align:middle}
</style></head>
<body>
<h1>Drift report: ${escapeHtml(doc.model)} version ${doc.model_version}</h1>
<table class="summary">${summary.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join('')}</table>
${sections.join('\n')}
<p class="legend">Generated ${escapeHtml(doc.generated_at)} by the serverless-mlops drift job. JSON: ${escapeHtml(doc.report_keys.json)}</p>
</body></html>
`;
}
