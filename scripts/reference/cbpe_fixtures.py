#!/usr/bin/env python3
"""NannyML's CBPE on the weather model's probabilities: the reference figures
of test/unit/monitor/cbpe.test.ts. Python is never part of the product; this
script only produces the committed JSON.

    npx tsx scripts/reference/cbpe-weather-probabilities.ts     # the model's probabilities (CSV)
    python3 -m venv .data/venv-nannyml
    .data/venv-nannyml/bin/pip install 'nannyml==0.13.*' 'pandas<3' statsmodels
    .data/venv-nannyml/bin/python scripts/reference/cbpe_fixtures.py

(nannyml 0.13.1 imports statsmodels without declaring it.)

Input: test/fixtures/cbpe/weather-probabilities.csv, written by Perennial's
own training code (the weather model trained on Seattle 2012-2014):
reference = its holdout (probabilities and labels), analysis = chunks it never
trained on (Seattle 2015 by quarter, New York 2015 by quarter, New York
2012-2014). The predicted class is the argmax the model answered.

Output: test/fixtures/cbpe/weather-nannyml.json: NannyML's calibration per
class (the isotonic thresholds it fitted, or none), its estimated accuracy and
macro F1 on the reference and on each chunk (one chunk per estimate call), and
the realised figures (scikit-learn) from the labels.
"""
import json
import os
import sys
import warnings

# NannyML reports usage to a remote service unless told not to.
os.environ["NML_DISABLE_USAGE_LOGGING"] = "1"

import numpy as np
import pandas as pd
import sklearn
from sklearn.metrics import accuracy_score, f1_score

import nannyml
from nannyml.calibration import IsotonicCalibrator
from nannyml.performance_estimation.confidence_based import CBPE

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
FIXTURES = os.path.join(ROOT, "test", "fixtures", "cbpe")
CLASSES = ["drizzle", "fog", "rain", "snow", "sun"]
PROBA = {c: f"p_{c}" for c in CLASSES}


def realised(frame):
    return {
        "accuracy": float(accuracy_score(frame["label"], frame["predicted"])),
        "macroF1": float(f1_score(frame["label"], frame["predicted"], average="macro", labels=CLASSES, zero_division=0)),
    }


def figures(result, period):
    data = result.filter(period=period).to_df()
    assert len(data) == 1, f"expected one chunk, got {len(data)}"
    return {"accuracy": float(data[("accuracy", "value")].iloc[0]), "macroF1": float(data[("f1", "value")].iloc[0])}


def main():
    frame = pd.read_csv(os.path.join(FIXTURES, "weather-probabilities.csv"), dtype={"label": str, "predicted": str}, float_precision="round_trip")
    reference = frame[frame["set"] == "reference"].reset_index(drop=True)
    analysis = frame[frame["set"] == "analysis"]

    estimator = CBPE(
        problem_type="classification_multiclass",
        y_pred_proba=PROBA,
        y_pred="predicted",
        y_true="label",
        metrics=["accuracy", "f1"],
        chunk_number=1,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(reference)
    calibration = []
    for c in CLASSES:
        calibrator = estimator._calibrators[c]
        positives = int((reference["label"] == c).sum())
        if isinstance(calibrator, IsotonicCalibrator):
            regressor = calibrator._regressor
            calibration.append(
                {"class": c, "positives": positives, "kind": "isotonic", "x": regressor.X_thresholds_.tolist(), "y": regressor.y_thresholds_.tolist()}
            )
        else:
            calibration.append({"class": c, "positives": positives, "kind": "identity"})

    chunks = []
    for name in analysis["chunk"].unique():
        rows = analysis[analysis["chunk"] == name].reset_index(drop=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = estimator.estimate(rows)
        chunks.append({"chunk": name, "rows": len(rows), "nannyml": figures(result, "analysis"), "realised": realised(rows)})

    out = {
        "about": "NannyML CBPE (multiclass) on the weather model's probabilities; written by scripts/reference/cbpe_fixtures.py",
        "versions": {
            "python": sys.version.split()[0],
            "nannyml": nannyml.__version__,
            "scikit-learn": sklearn.__version__,
            "numpy": np.__version__,
            "pandas": pd.__version__,
        },
        "classes": CLASSES,
        "reference": {"rows": len(reference), "nannyml": figures(estimator.result, "reference"), "realised": realised(reference)},
        "calibration": calibration,
        "chunks": chunks,
    }
    with open(os.path.join(FIXTURES, "weather-nannyml.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"{'chunk':<22} {'rows':>5} {'accuracy':>9} {'realised':>9} {'macroF1':>8} {'realised':>9}")
    for c in [{"chunk": "reference (holdout)", **out["reference"]}] + chunks:
        print(
            f"{c['chunk']:<22} {c['rows']:>5} {c['nannyml']['accuracy']:>9.4f} {c['realised']['accuracy']:>9.4f}"
            f" {c['nannyml']['macroF1']:>8.4f} {c['realised']['macroF1']:>9.4f}"
        )


if __name__ == "__main__":
    main()
