#!/usr/bin/python3
"""Generates test/fixtures/drift/kolmogorov.json: SciPy's `kstwo.cdf`, `kstwo.sf` and `special.smirnov` at points
that reach every method of lambdas/core/drift/kolmogorov.ts (Ruben–Gambino, Durbin matrix, Pomeranz, Pelz–Good,
2·smirnov in the tail, the Birnbaum–Tingey sum and its shortcuts), for test/core/drift/kolmogorov.test.ts.

    python3 scripts/drift-vectors/kolmogorov.py
"""
import json
import os

import scipy
from scipy.special import smirnov
from scipy.stats import kstwo

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'drift', 'kolmogorov.json')

points = [(n, x) for n in [1, 2, 3, 7, 20, 140, 141, 400, 2000, 150000] for x in [0.01, 0.03, 0.05, 0.08, 0.1, 0.2, 0.3, 0.45, 0.5, 0.6, 0.9, 0.99]]
points += [(5, 0.15), (5, 0.25), (10, 0.11), (10, 0.85), (10, 0.95), (200, 0.004), (200, 0.006), (200, 0.08), (200, 0.12), (200, 0.3),
           (100001, 0.001), (100001, 0.003), (300, 0.2),
           # Ruben–Gambino above n = 140 (in logs), and the Durbin matrix at large n (its rescaling by 2^128).
           (141, 0.005), (400, 0.002), (2000, 0.0004), (1000, 0.005), (1000, 0.01), (5000, 0.003), (40, 0.05), (100, 0.05), (140, 0.1)]
smirnov_points = [(n, x) for n in [1, 2, 5, 10, 50, 1000, 2000000] for x in [0, 0.001, 0.05, 0.1, 0.2, 0.5, 0.7, 0.95, 1]]
smirnov_points += [(10, 0.1), (10, 0.2), (5, 0.4), (4, 0.25), (100, 0.01), (100, 0.015), (20, 0.95), (20, 0.999)]

document = {
    'meta': {'generator': 'scripts/drift-vectors/kolmogorov.py', 'scipy': scipy.__version__},
    'kolmogn': [[n, x, float(kstwo.cdf(x, n)), float(kstwo.sf(x, n))] for n, x in points],
    'smirnov': [[n, x, float(smirnov(n, x))] for n, x in smirnov_points],
}
with open(OUT, 'w') as f:
    f.write(json.dumps(document) + '\n')
