#!/usr/bin/python3
"""Generates the SciPy reference vectors for the drift statistics (lambdas/core/drift).

Run with Debian's python3-scipy (see README.md next to this file):

    /usr/bin/python3 scripts/drift-vectors/generate.py

Writes test/fixtures/drift/ks_2samp.json, chisquare.json and chi2_contingency.json, and the CSV pair
test/fixtures/drift/compare-reference.csv / compare-current.csv with its expected statistics.
Samples come from a seeded NumPy generator and are rounded to a few decimals *before*
SciPy sees them, so the JSON holds exactly the numbers SciPy was given.
"""
import json
import math
import os
import sys

import numpy as np
import scipy
from scipy import stats

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'drift')

rng = np.random.default_rng(20240611)


def rounded(values, decimals=3):
    return [float(v) for v in np.round(np.asarray(values, dtype=np.float64), decimals)]


def normal(n, loc=0.0, scale=1.0, decimals=3):
    return rounded(rng.normal(loc, scale, n), decimals)


def integers(n, low, high):
    return [float(v) for v in rng.integers(low, high, n)]


def ks_case(name, a, b):
    result = stats.ks_2samp(a, b)  # two-sided, method='auto'
    n1, n2 = len(a), len(b)
    method = 'exact' if max(n1, n2) <= 10000 else 'asymp'  # MAX_AUTO_N of this SciPy
    return {
        'name': name,
        'a': a,
        'b': b,
        'statistic': float(result.statistic),
        'pvalue': float(result.pvalue),
        'method': method,
    }


def ks_cases():
    cases = [
        ks_case('n=1 vs n=1, different', [1.0], [2.0]),
        ks_case('n=1 vs n=5', [0.5], [0.1, 0.2, 0.7, 0.9, 1.3]),
        ks_case('equal 5 vs 5', normal(5), normal(5, 0.5)),
        ks_case('unequal 3 vs 7', normal(3), normal(7)),
        ks_case('unequal 8 vs 3', normal(8), normal(3, 1.0)),
        ks_case('equal 10 vs 10 shifted', normal(10), normal(10, 1.0)),
        ks_case('identical samples', [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
        ks_case('disjoint samples 6 vs 9', normal(6, -10), normal(9, 10)),
        ks_case('disjoint samples 40 vs 40', normal(40, -10), normal(40, 10)),
        ks_case('ties, integers 0..4, 30 vs 45', integers(30, 0, 5), integers(45, 0, 5)),
        ks_case('heavy ties, 0/1, 50 vs 70', integers(50, 0, 2), integers(70, 0, 2)),
        ks_case('ties across samples 12 vs 12', integers(12, 0, 4), integers(12, 1, 5)),
        ks_case('unequal 20 vs 15', normal(20), normal(15, 0.3)),
        ks_case('gcd>1, 24 vs 36', normal(24), normal(36, 0.4)),
        ks_case('coprime 37 vs 41', normal(37), normal(41, 0.6)),
        ks_case('equal 50 vs 50 same', normal(50), normal(50)),
        ks_case('unequal 50 vs 60 shifted', normal(50), normal(60, 0.5, 1.3)),
        ks_case('equal 100 vs 100 scale', normal(100), normal(100, 0.0, 2.0)),
        ks_case('unequal 200 vs 150', normal(200), normal(150, 0.1)),
        ks_case('unequal 500 vs 730', normal(500), normal(730, 0.15)),
        ks_case('unequal 1000 vs 999 same', normal(1000), normal(999)),
        ks_case('unequal 2000 vs 3000 shifted', normal(2000), normal(3000, 0.08)),
        ks_case('exponential 300 vs 280', rounded(rng.exponential(1.0, 300)), rounded(rng.exponential(1.2, 280))),
        ks_case('equal 400 vs 400 large shift', normal(400), normal(400, 1.5)),
        ks_case('unequal 64 vs 16', normal(64), normal(16, 0.7)),
        ks_case('unequal 1 vs 100', [0.25], normal(100)),
        ks_case('exact equal 10000 vs 10000', normal(10000, 0.0, 1.0, 2), normal(10000, 0.02, 1.0, 2)),
        ks_case('exact unequal 10000 vs 7000', normal(10000, 0.0, 1.0, 2), normal(7000, 0.0, 1.0, 2)),
        ks_case('asymp 12000 vs 9000 same', normal(12000, 0.0, 1.0, 2), normal(9000, 0.0, 1.0, 2)),
        ks_case('asymp 12000 vs 9000 shift 0.05', normal(12000, 0.0, 1.0, 2), normal(9000, 0.05, 1.0, 2)),
        ks_case('asymp 12000 vs 9000 shift 0.3', normal(12000, 0.0, 1.0, 2), normal(9000, 0.3, 1.0, 2)),
        ks_case('asymp 10001 vs 10001 (en=5000.5 rounds to even)', normal(10001, 0.0, 1.0, 2), normal(10001, 0.01, 1.0, 2)),
        ks_case('asymp 15000 vs 40', normal(15000, 0.0, 1.0, 2), normal(40, 0.2)),
        ks_case('asymp 11000 vs 100 shifted', normal(11000, 0.0, 1.0, 2), normal(100, 0.6)),
        ks_case('asymp 10500 vs 8 (tiny second sample)', normal(10500, 0.0, 1.0, 2), normal(8, 0.5)),
        ks_case('asymp 20000 vs 300 ties', integers(20000, 0, 20), integers(300, 1, 20)),
    ]
    return cases


def kstwo_cases():
    """kstwo.sf(d, n) across the branches of SciPy's _kolmogn (Simard & L'Ecuyer)."""
    points = []
    for n in [1, 2, 3, 5, 10, 40, 99, 100, 140, 141, 500, 1000, 5000, 5143, 20000, 150000]:
        for d in [0.3 / n, 0.75 / n, 1.0 / n, 1.5 / n, 0.02, 0.05, 0.1, 0.2, 0.3, 0.45, 0.5, 0.6, 0.9, 1.0 - 0.5 / n, 0.999]:
            if 0.0 < d < 1.0:
                points.append({'n': n, 'd': float(d), 'sf': float(stats.kstwo.sf(d, n))})
        for z in [0.4, 0.7, 0.86, 1.0, 1.2, 1.5, 2.0, 3.0]:
            d = z / math.sqrt(n)
            if 0.0 < d < 1.0:
                points.append({'n': n, 'd': float(d), 'sf': float(stats.kstwo.sf(d, n))})
    return points


def wasserstein_cases():
    cases = []
    for name, u, v in [
        ('tiny', [0.0, 1.0, 3.0], [5.0, 6.0, 8.0]),
        ('ties', [1.0, 1.0, 2.0, 3.0], [1.0, 2.0, 2.0]),
        ('normal 50 vs 70', normal(50), normal(70, 0.5)),
        ('normal 500 vs 400 scale', normal(500), normal(400, 0.0, 2.0)),
        ('identical', [3.0, 1.0, 2.0], [1.0, 2.0, 3.0]),
    ]:
        cases.append({'name': name, 'u': u, 'v': v, 'distance': float(stats.wasserstein_distance(u, v))})
    return cases


def chisq_case(name, observed, expected=None):
    if expected is None:
        result = stats.chisquare(observed)
    else:
        result = stats.chisquare(observed, expected)
    case = {'name': name, 'observed': [float(o) for o in observed]}
    if expected is not None:
        case['expected'] = [float(e) for e in expected]
    case.update({'statistic': float(result.statistic), 'pvalue': float(result.pvalue), 'dof': len(observed) - 1})
    return case


def scaled(freqs, total):
    f = np.asarray(freqs, dtype=np.float64)
    return list(f / f.sum() * total)


def chisq_cases():
    cases = [
        chisq_case('uniform expected, 6 faces', [16, 18, 16, 14, 12, 12]),
        chisq_case('scipy docs example', [16, 18, 16, 14, 12, 12], [16, 16, 16, 16, 16, 8]),
        chisq_case('two categories, close', [48, 52], [50, 50]),
        chisq_case('two categories, far', [10, 90], [50, 50]),
        chisq_case('perfect fit', [25, 25, 50], [25, 25, 50]),
        chisq_case('fractional expected', [30, 20, 50], scaled([0.31, 0.19, 0.5], 100)),
        chisq_case('small counts', [1, 0, 2], [1, 1, 1]),
        chisq_case('huge statistic', [1000, 0, 0, 0], [250, 250, 250, 250]),
        chisq_case('extreme statistic (p underflows)', [100000, 0], [50000, 50000]),
        chisq_case('k=3, moderate', [120, 90, 40], scaled([0.5, 0.35, 0.15], 250)),
        chisq_case('k=5, credit Home-like', [610, 430, 260, 120, 80], scaled([0.45, 0.3, 0.15, 0.07, 0.03], 1500)),
        chisq_case('k=5 near expected', [676, 448, 223, 106, 47], scaled([0.45, 0.3, 0.15, 0.07, 0.03], 1500)),
        chisq_case('k=10 random', [int(v) for v in rng.integers(20, 60, 10)]),
        chisq_case('k=20 random', [int(v) for v in rng.integers(5, 40, 20)]),
        chisq_case('k=50 random', [int(v) for v in rng.integers(100, 130, 50)]),
        chisq_case('k=200 random', [int(v) for v in rng.integers(1000, 1100, 200)]),
        chisq_case('k=1000 random (large dof)', [int(v) for v in rng.integers(40, 60, 1000)]),
        chisq_case('unseen category with tiny expected', [95, 100, 5], scaled([0.4999, 0.5, 0.0001], 200)),
        chisq_case('p around 0.05, dof 1', [59, 41], [50, 50]),
        chisq_case('p around 0.5, dof 4', [22, 18, 20, 24, 16], [20, 20, 20, 20, 20]),
        chisq_case('stat below dof, dof 2', [33, 34, 33]),
        chisq_case('large counts', [500123, 499877, 1000500], [500000, 500000, 1000500]),
    ]
    return cases


# The contingency vectors draw from their own generator, so the older vectors above stay byte for byte the same.
crng = np.random.default_rng(20261201)


def contingency_case(name, table):
    statistic, pvalue, dof, expected = stats.chi2_contingency(np.asarray(table, dtype=np.float64))  # SciPy's defaults
    return {
        'name': name,
        'observed': [[float(v) for v in row] for row in table],
        'statistic': float(statistic),
        'pvalue': float(pvalue),
        'dof': int(dof),
        'expected': [[float(v) for v in row] for row in expected],
    }


def two_samples(probabilities, n_reference, n_current):
    p = np.asarray(probabilities, dtype=np.float64)
    p = p / p.sum()
    return [[int(v) for v in crng.multinomial(n_reference, p)], [int(v) for v in crng.multinomial(n_current, p)]]


def contingency_cases():
    return [
        contingency_case('2x2, Yates applies', [[12, 5], [9, 14]]),
        contingency_case('2x2, |o - e| below 0.5 (correction stops at e)', [[10, 10], [10, 11]]),
        contingency_case('2x2, identical rows', [[30, 70], [30, 70]]),
        contingency_case('2x2, large counts', [[52000, 48000], [12800, 12200]]),
        contingency_case('2x2, missing counts 2% vs 60%', [[20, 980], [300, 200]]),
        contingency_case('2x1 (dof 0)', [[5], [9]]),
        contingency_case('2x3, unequal sizes 100 vs 80', two_samples([0.5, 0.3, 0.2], 100, 80)),
        contingency_case('2x4, 3000 vs 3000', two_samples([0.4, 0.3, 0.2, 0.1], 3000, 3000)),
        contingency_case('2x5, 200000 vs 50000', two_samples([0.45, 0.3, 0.15, 0.07, 0.03], 200000, 50000)),
        contingency_case('2x5, shifted', [[610, 430, 260, 120, 80], [700, 300, 300, 60, 140]]),
        contingency_case('2x6, an unseen category in current', [[400, 300, 150, 100, 50, 0], [80, 60, 40, 10, 6, 4]]),
        contingency_case('2x20, rare categories', two_samples(list(range(1, 21)), 500, 400)),
        contingency_case('3x3 (general r x c)', [[10, 20, 30], [20, 20, 20], [30, 20, 10]]),
        contingency_case('2x2, p underflows', [[100000, 0], [0, 100000]]),
    ]


def compare_fixture():
    """Two CSVs for `mlops drift compare`: a numeric column with NA cells, a categorical column with one unseen category."""
    n_ref, n_cur = 400, 300
    income_ref = [round(float(v), 1) for v in crng.normal(50.0, 12.0, n_ref)]
    income_cur = [round(float(v), 1) for v in crng.normal(53.0, 12.0, n_cur)]
    tokens = ['NA', 'NaN', 'N/A', '?', 'null', 'None', '']
    missing_ref = set(int(i) for i in crng.choice(n_ref, 8, replace=False))
    missing_cur = set(int(i) for i in crng.choice(n_cur, 45, replace=False))
    homes = ['mortgage', 'other', 'owner', 'rent']
    home_ref = [homes[int(i)] for i in crng.choice(4, n_ref, p=[0.35, 0.1, 0.25, 0.3])]
    home_cur = [homes[int(i)] for i in crng.choice(4, n_cur, p=[0.3, 0.1, 0.2, 0.4])]
    home_cur[:7] = ['parents'] * 7  # unseen in the reference

    def rows(income, missing, home):
        out = ['income,home']
        for i, (x, h) in enumerate(zip(income, home)):
            cell = tokens[i % len(tokens)] if i in missing else repr(x)
            out.append(f'{cell},{h}')
        return '\n'.join(out) + '\n'

    write_text('compare-reference.csv', rows(income_ref, missing_ref, home_ref))
    write_text('compare-current.csv', rows(income_cur, missing_cur, home_cur))
    ref_values = [x for i, x in enumerate(income_ref) if i not in missing_ref]
    cur_values = [x for i, x in enumerate(income_cur) if i not in missing_cur]
    ks = stats.ks_2samp(cur_values, ref_values)
    categories = sorted(set(home_ref) | set(home_cur))
    table = [[home_ref.count(c) for c in categories], [home_cur.count(c) for c in categories]]
    chi2, chi2_p, dof, _ = stats.chi2_contingency(np.asarray(table, dtype=np.float64))
    missing_table = [[len(missing_ref), n_ref - len(missing_ref)], [len(missing_cur), n_cur - len(missing_cur)]]
    m_chi2, m_p, _, _ = stats.chi2_contingency(np.asarray(missing_table, dtype=np.float64))
    return {
        'reference_rows': n_ref,
        'current_rows': n_cur,
        'income': {
            'test': 'ks', 'statistic': float(ks.statistic), 'pvalue': float(ks.pvalue),
            'missing_rate': {'reference': len(missing_ref) / n_ref, 'current': len(missing_cur) / n_cur},
            'missing_test': {'table': missing_table, 'statistic': float(m_chi2), 'pvalue': float(m_p)},
        },
        'home': {'test': 'chi_square', 'categories': categories, 'table': table, 'statistic': float(chi2), 'pvalue': float(chi2_p), 'dof': int(dof)},
    }


def write_text(name, text):
    path = os.path.join(OUT, name)
    with open(path, 'w', encoding='utf-8', newline='') as handle:
        handle.write(text)
    print(f'wrote {path} ({os.path.getsize(path)} bytes)')


def meta():
    return {
        'generator': 'scripts/drift-vectors/generate.py',
        'python': sys.version.split()[0],
        'scipy': scipy.__version__,
        'numpy': np.__version__,
    }


def write(name, payload):
    path = os.path.join(OUT, name)
    with open(path, 'w', encoding='utf-8') as handle:
        json.dump(payload, handle, separators=(',', ':'))
        handle.write('\n')
    print(f'wrote {path} ({os.path.getsize(path)} bytes)')


def main():
    os.makedirs(OUT, exist_ok=True)
    ks = ks_cases()
    kstwo = kstwo_cases()
    wasserstein = wasserstein_cases()
    chisq = chisq_cases()
    write('ks_2samp.json', {'meta': meta(), 'ks_2samp': ks, 'kstwo_sf': kstwo, 'wasserstein': wasserstein})
    write('chisquare.json', {'meta': meta(), 'chisquare': chisq})
    contingency = contingency_cases()
    compare = compare_fixture()
    write('chi2_contingency.json', {'meta': meta(), 'chi2_contingency': contingency, 'compare': compare})


if __name__ == '__main__':
    main()
