"""Packs fixture models as SageMaker's built-in XGBoost algorithm (image sagemaker-xgboost:1.7-1) writes them.

The algorithm container saves the booster with `bst.save_model(model_dir + "/xgboost-model")`: no file extension, so
XGBoost 1.7 writes its legacy binary format ("binf"), and SageMaker packs /opt/ml/model into model.tar.gz. This script
loads each fixture's model.json with real XGBoost (Debian's python3-xgboost, 1.7.x), saves it the same way, checks that
the reloaded binary model gives the fixture's expected probabilities exactly, and writes sagemaker-model.tar.gz next to
it. The pipeline's ConvertXgboostModel step is tested on these archives; nothing in the tests runs Python.

    /usr/bin/python3 scripts/xgboost-reference/sagemaker-artifact.py test/fixtures/xgboost
"""
import io
import json
import os
import sys
import tarfile
import tempfile

import numpy as np
import xgboost as xgb

fixtures = sys.argv[1]
rows = json.load(open(os.path.join(fixtures, "rows.json")))["rows"]

for variant in ["missing-default-directions", "imputed"]:
    directory = os.path.join(fixtures, variant)
    metadata = json.load(open(os.path.join(directory, "metadata.json")))
    expected = np.array(json.load(open(os.path.join(directory, "expected.json")))["probabilities"], dtype=np.float32)
    booster = xgb.Booster()
    booster.load_model(os.path.join(directory, "model.json"))
    with tempfile.TemporaryDirectory() as model_dir:
        path = os.path.join(model_dir, "xgboost-model")
        booster.save_model(path)
        binary = open(path, "rb").read()
    assert binary[:4] == b"binf", "expected XGBoost's legacy binary format"

    # The binary model, loaded back, must score the fixture rows as the JSON model did.
    reloaded = xgb.Booster()
    reloaded.load_model(bytearray(binary))
    columns = []
    for e in metadata["preprocessing"]["encodings"]:
        values = [row[e["feature"]] for row in rows]
        if e["kind"] == "numeric":
            column = np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
            if e["impute"] is not None:
                column = np.where(np.isnan(column), e["impute"], column)
            columns.append(column)
        else:
            filled = [e["impute"] if v is None else v for v in values]
            for category in e["categories"]:
                columns.append(np.array([1.0 if v == category else 0.0 for v in filled]))
    x = np.column_stack(columns).astype(np.float32)
    scores = reloaded.predict(xgb.DMatrix(x, missing=np.nan))
    assert np.array_equal(scores, expected), f"{variant}: the binary model scores differently"

    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(binary)
        info.mtime = 0
        tar.addfile(info, io.BytesIO(binary))
    open(os.path.join(directory, "sagemaker-model.tar.gz"), "wb").write(archive.getvalue())
    print(f"{variant}: xgboost-model {len(binary)} bytes, {len(rows)} rows score as expected")
