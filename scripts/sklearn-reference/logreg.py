"""scikit-learn's LogisticRegression on the built-in trainer's own holdout splits.

The pipeline is the reference one of the data sets' README: median imputation and standard scaling of the numeric
columns, most-frequent imputation and one-hot encoding of the others, LogisticRegression(C=1) (our l2 = 1 / C).
It shows whether a gap between our holdout ROC AUC and a published figure is the trainer's or the split's.

    npx tsx scripts/sklearn-reference/export-splits.ts examples/lending-club/lending_club.csv Class bad > /tmp/splits.json
    /usr/bin/python3 scripts/sklearn-reference/logreg.py /tmp/splits.json

Needs Debian's python3-sklearn and python3-pandas; nothing in the tests runs it.
"""
import json
import sys

import numpy as np
import pandas as pd
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

spec = json.load(open(sys.argv[1]))
frame = pd.read_csv(spec["file"])
y = (frame[spec["target"]] == spec["positive"]).astype(int).values
x = frame.drop(columns=[spec["target"]])
numeric = make_column_selector(dtype_include=np.number)
categorical = make_column_selector(dtype_exclude=np.number)

aucs = []
for split in spec["splits"]:
    columns = make_column_transformer(
        (make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        (make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")), categorical),
    )
    model = make_pipeline(columns, LogisticRegression(C=1.0, max_iter=5000))
    model.fit(x.iloc[split["train"]], y[split["train"]])
    auc = roc_auc_score(y[split["holdout"]], model.predict_proba(x.iloc[split["holdout"]])[:, 1])
    aucs.append(auc)
    print(f"seed {split['seed']:>3}: holdout ROC AUC {auc:.4f}")
print(f"mean over {len(aucs)} splits {np.mean(aucs):.4f}, std {np.std(aucs, ddof=1):.4f}")
