"""Reference values for src/metrics from scikit-learn.

Writes test/fixtures/metrics/{multiclass,binary,regression}.json; the tests in
test/metrics compare src/metrics with them within 1e-9.

Run: pip install scikit-learn && python3 scripts/reference/metrics_fixtures.py

Probabilities are rounded to float32 first (the model outputs float32), then
passed to sklearn as float64, so both sides see the same numbers. sklearn's
log_loss clips to [eps, 1 - eps] with eps = float64 machine epsilon and does
not renormalize rows.
"""
import json
import os
import warnings

import numpy as np
import sklearn
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    log_loss,
    mean_absolute_error,
    mean_squared_error,
    precision_recall_fscore_support,
    r2_score,
)

warnings.simplefilter("ignore")
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "metrics")


def classification_case(name, seed, n, classes, never_predicted=None, absent_from_truth=None):
    rng = np.random.default_rng(seed)
    k = len(classes)
    y_true = rng.integers(0, k, size=n)
    if absent_from_truth is not None:
        y_true[y_true == absent_from_truth] = 0
    y_train = rng.integers(0, k, size=3 * n)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), y_true] += 1.2  # a model that is right more often than not
    if never_predicted is not None:
        logits[:, never_predicted] -= 10.0  # this class is never the argmax
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    proba[0, :] = 0.0  # a row with a zero (clipped) probability for its true class
    proba[0, (y_true[0] + 1) % k] = 1.0
    proba = proba.astype(np.float32).astype(np.float64)
    y_pred = proba.argmax(axis=1)
    labels = list(range(k))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    dummy = DummyClassifier(strategy="most_frequent").fit(np.zeros((len(y_train), 1)), y_train)
    case = {
        "generator": f"scikit-learn {sklearn.__version__}, numpy {np.__version__}, seed {seed}",
        "classes": classes,
        "yTrue": y_true.tolist(),
        "yTrain": y_train.tolist(),
        "proba": proba.ravel().tolist(),
        "expected": {
            "accuracy": accuracy_score(y_true, y_pred),
            "macroF1": f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0),
            "weightedF1": f1_score(y_true, y_pred, labels=labels, average="weighted", zero_division=0),
            "logLoss": log_loss(y_true, proba, labels=labels),
            "precision": p.tolist(),
            "recall": r.tolist(),
            "f1": f.tolist(),
            "support": s.tolist(),
            "confusion": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
            "baselineAccuracy": dummy.score(np.zeros((n, 1)), y_true),
            "baselineClass": int(dummy.predict(np.zeros((1, 1)))[0]),
        },
    }
    with open(os.path.join(OUT, f"{name}.json"), "w") as fh:
        json.dump(case, fh, indent=1)


def regression_case(name, seed, n):
    rng = np.random.default_rng(seed)
    y_true = rng.normal(10, 3, size=n)
    y_pred = (y_true + rng.normal(0, 1.5, size=n)).astype(np.float32).astype(np.float64)
    y_train = rng.normal(9, 3, size=2 * n)
    dummy = DummyRegressor(strategy="mean").fit(np.zeros((len(y_train), 1)), y_train)
    base = dummy.predict(np.zeros((n, 1)))
    case = {
        "generator": f"scikit-learn {sklearn.__version__}, numpy {np.__version__}, seed {seed}",
        "yTrue": y_true.tolist(),
        "yPred": y_pred.tolist(),
        "yTrain": y_train.tolist(),
        "expected": {
            "rmse": float(np.sqrt(mean_squared_error(y_true, y_pred))),
            "mae": mean_absolute_error(y_true, y_pred),
            "r2": r2_score(y_true, y_pred),
            "baselineValue": float(base[0]),
            "baselineRmse": float(np.sqrt(mean_squared_error(y_true, base))),
            "baselineMae": mean_absolute_error(y_true, base),
            "baselineR2": r2_score(y_true, base),
        },
    }
    with open(os.path.join(OUT, f"{name}.json"), "w") as fh:
        json.dump(case, fh, indent=1)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    # 5 classes: 'snow' (3) is never predicted, 'fog' (4) never occurs in the truth.
    classification_case("multiclass", 7, 80, ["drizzle", "rain", "sun", "snow", "fog"], never_predicted=3, absent_from_truth=4)
    classification_case("binary", 11, 50, ["no", "yes"])
    regression_case("regression", 13, 40)
    print("wrote", sorted(os.listdir(OUT)))
