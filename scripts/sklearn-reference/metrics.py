#!/usr/bin/python3
"""Reference values of the evaluation metrics (lambdas/core/metrics/classification.ts) from scikit-learn.

    /usr/bin/python3 scripts/sklearn-reference/metrics.py

Writes test/fixtures/metrics/sklearn-metrics.json: for seeded label/score vectors (balanced, imbalanced,
with ties, a perfect and a useless ranking) `average_precision_score`, `brier_score_loss`, `roc_auc_score`
and `calibration_curve(strategy="uniform", n_bins=10)`. Needs Debian's python3-sklearn; the tests need no Python.
"""
import json
import os
import sys

import numpy as np
import sklearn
from sklearn.calibration import calibration_curve
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'metrics', 'sklearn-metrics.json')
rng = np.random.default_rng(20261201)


def case(name, labels, scores):
    labels = [int(v) for v in labels]
    scores = [float(v) for v in np.round(np.asarray(scores, dtype=np.float64), 4)]
    prob_true, prob_pred = calibration_curve(labels, scores, n_bins=10, strategy='uniform')
    return {
        'name': name,
        'labels': labels,
        'scores': scores,
        'average_precision': float(average_precision_score(labels, scores)),
        'brier': float(brier_score_loss(labels, scores)),
        'roc_auc': float(roc_auc_score(labels, scores)),
        'calibration': {'prob_true': [float(v) for v in prob_true], 'prob_pred': [float(v) for v in prob_pred]},
    }


def scored(n, positive_rate, separation):
    labels = (rng.random(n) < positive_rate).astype(int)
    logits = rng.normal(0, 1, n) + separation * labels - 2.0 * (positive_rate < 0.2)
    return labels, 1 / (1 + np.exp(-logits))


def main():
    cases = [
        case('tiny', [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]),
        case('ties across classes', [0, 1, 0, 1, 1, 0], [0.5, 0.5, 0.2, 0.9, 0.2, 0.7]),
        case('perfect ranking', [0, 0, 0, 1, 1], [0.05, 0.15, 0.25, 0.85, 0.95]),
        case('reversed ranking', [1, 1, 0, 0, 0], [0.05, 0.15, 0.25, 0.85, 0.95]),
        case('balanced 400', *scored(400, 0.5, 1.5)),
        case('imbalanced 2000 (5 % positives)', *scored(2000, 0.05, 1.8)),
        case('coarse scores with many ties', *(lambda l, s: (l, np.round(s, 1)))(*scored(600, 0.3, 1.0))),
    ]
    payload = {'meta': {'generator': 'scripts/sklearn-reference/metrics.py', 'python': sys.version.split()[0], 'sklearn': sklearn.__version__, 'numpy': np.__version__}, 'cases': cases}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w', encoding='utf-8') as handle:
        json.dump(payload, handle, separators=(',', ':'))
        handle.write('\n')
    print(f'wrote {OUT} ({os.path.getsize(OUT)} bytes)')


if __name__ == '__main__':
    main()
