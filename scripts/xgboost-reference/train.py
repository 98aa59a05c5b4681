"""Trains small XGBoost models on the credit data and writes the converter's fixtures.

Each model is trained by real XGBoost (Debian's python3-xgboost, 1.7.x) on the columns our metadata's preprocessing
produces (one indicator column per category in the metadata's order, numeric columns as they are), and written with
its metadata and XGBoost's own probabilities for the fixture rows. The tests convert each model.json to ONNX and
compare onnxruntime's probabilities to these on every row (1e-6); nothing in the tests runs Python.

    npx tsx examples/credit/train.ts /tmp/credit-base
    /usr/bin/python3 scripts/xgboost-reference/train.py /tmp/credit-base/metadata.json examples/credit/credit_data.csv test/fixtures/xgboost

The base metadata (the built-in trainer's) gives the input schema, the categories and the baseline profiles.
The variants cover missing values left to the trees' default directions (numeric `impute: null`), a base_score
other than 0.5, and numeric missing values imputed before training (`impute` a number).
"""
import hashlib
import json
import math
import os
import sys

import numpy as np
import pandas as pd
import xgboost as xgb

base_path, csv_path, out_dir = sys.argv[1], sys.argv[2], sys.argv[3]
base = json.load(open(base_path))
csv_bytes = open(csv_path, "rb").read()
frame = pd.read_csv(csv_path, keep_default_na=True)
target = base["lineage"]["target"]
positive = base["output"]["positive_label"]
y = (frame[target] == positive).astype(int).values
encodings = base["preprocessing"]["encodings"]
features = [e["feature"] for e in encodings]


def feature_value(value):
    """A cell as a predict request carries it: a number, a string, or None for missing."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value)
    return str(value)


def encode(rows, impute_numeric):
    """Our encode.ts, in numpy: numeric as is (NaN or the median when missing), one-hot in the metadata's order."""
    columns, names = [], []
    for e in encodings:
        values = rows[e["feature"]]
        if e["kind"] == "numeric":
            column = values.astype(float).values
            if impute_numeric:
                column = np.where(np.isnan(column), e["impute"], column)
            columns.append(column)
            names.append(e["feature"])
        else:
            filled = values.where(values.notna(), e["impute"])
            for category in e["categories"]:
                columns.append((filled == category).astype(float).values)
                names.append(f"{e['feature']}={category}")
    return np.column_stack(columns).astype(np.float32), names


def auc(labels, scores):
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    # average ranks of ties
    for value in np.unique(scores):
        tied = scores == value
        ranks[tied] = ranks[tied].mean()
    positives = labels.sum()
    negatives = len(labels) - positives
    return float((ranks[labels == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


# The rows a request may carry: every category known to the metadata (or missing).
valid = np.ones(len(frame), dtype=bool)
for e in encodings:
    if e["kind"] == "one_hot":
        column = frame[e["feature"]]
        valid &= column.isna().values | column.isin(e["categories"]).values
has_missing = frame[features].isna().any(axis=1).values
# Every valid row with a missing value, and every fifth of the others.
fixture_index = [i for i in range(len(frame)) if valid[i] and (has_missing[i] or i % 5 == 0)]
rng = np.random.default_rng(7)
holdout = rng.random(len(frame)) < 0.25

variants = [
    {
        "name": "missing-default-directions",
        "impute_numeric": False,
        "params": {"max_depth": 4, "eta": 0.3, "min_child_weight": 1},
        "rounds": 30,
    },
    {
        "name": "base-score",
        "impute_numeric": False,
        "params": {"max_depth": 5, "eta": 0.1, "subsample": 0.8, "colsample_bytree": 0.8, "base_score": float(y.mean())},
        "rounds": 40,
    },
    {
        "name": "imputed",
        "impute_numeric": True,
        "params": {"max_depth": 3, "eta": 0.2, "lambda": 2.0, "base_score": 0.3},
        "rounds": 20,
    },
]

os.makedirs(out_dir, exist_ok=True)
rows = [{f: feature_value(frame.at[i, f]) for f in features} for i in fixture_index]
json.dump({"source": os.path.basename(csv_path), "lines": [i + 2 for i in fixture_index], "rows": rows},
          open(os.path.join(out_dir, "rows.json"), "w"), separators=(",", ":"))

for variant in variants:
    x, names = encode(frame, variant["impute_numeric"])
    params = {"objective": "binary:logistic", "tree_method": "exact", "seed": 7, "nthread": 1, **variant["params"]}
    train = xgb.DMatrix(x[~holdout], label=y[~holdout], feature_names=names, missing=np.nan)
    booster = xgb.train(params, train, num_boost_round=variant["rounds"])
    holdout_scores = booster.predict(xgb.DMatrix(x[holdout], feature_names=names, missing=np.nan))
    fixture_scores = booster.predict(xgb.DMatrix(x[fixture_index], feature_names=names, missing=np.nan))

    directory = os.path.join(out_dir, variant["name"])
    os.makedirs(directory, exist_ok=True)
    booster.save_model(os.path.join(directory, "model.json"))
    metadata = dict(base)
    metadata["algorithm"] = "xgboost"
    metadata["input_schema"] = {
        **base["input_schema"],
        "features": [
            {**f, "nullable": bool(frame[f["name"]].isna().any()) or f["nullable"]} for f in base["input_schema"]["features"]
        ],
    }
    metadata["preprocessing"] = {
        **base["preprocessing"],
        "encodings": [
            {**e, "impute": None} if e["kind"] == "numeric" and not variant["impute_numeric"] else e for e in encodings
        ],
    }
    metadata["metrics"] = {"roc_auc": auc(y[holdout], holdout_scores.astype(np.float64))}
    metadata["lineage"] = {
        "data_sha256": hashlib.sha256(csv_bytes).hexdigest(),
        "rows": int((~holdout).sum()),
        "target": target,
        "seed": 7,
        "parameters": {**{k: v for k, v in params.items()}, "num_boost_round": variant["rounds"]},
        "trainer": "xgboost",
        "trainer_version": xgb.__version__,
    }
    metadata.pop("prediction_profile", None)
    json.dump(metadata, open(os.path.join(directory, "metadata.json"), "w"), indent=2)
    json.dump({"xgboost_version": xgb.__version__, "probabilities": [float(p) for p in fixture_scores]},
              open(os.path.join(directory, "expected.json"), "w"), separators=(",", ":"))
    print(f"{variant['name']}: holdout ROC AUC {metadata['metrics']['roc_auc']:.4f}, {len(fixture_index)} fixture rows")
