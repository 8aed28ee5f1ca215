"""
Perennial's fitted preprocessor (preprocessor.json) as a scikit-learn
transformer, so MLServer reads the same OIP request as `perennial serve` (one
input tensor per column, MLServer's pandas codec) and its MLP sees the same
encoded matrix Perennial's does: standard-scaled numbers (missing: the fitted
imputation value), one-hot categories with an '__other__' column (missing: the
fitted imputation category), date parts as sin/cos (missing: 0).

It is pickled by reference inside the model (module `perennial_features`), so
this folder must be on PYTHONPATH wherever the model is loaded (the benchmark
sets it for training and for `mlserver start`).
"""

import math

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin


def _text(series: pd.Series) -> pd.Series:
    """MLServer hands BYTES tensors over as bytes or str, depending on the codec path."""
    return series.map(lambda v: v.decode("utf-8") if isinstance(v, (bytes, bytearray)) else v)


class PerennialFeatures(BaseEstimator, TransformerMixin):
    def __init__(self, preprocessor=None):
        self.preprocessor = preprocessor

    def fit(self, X=None, y=None):  # noqa: N803 (scikit-learn's names)
        return self  # fitted already: the parameters are Perennial's

    def transform(self, X):  # noqa: N803
        features = self.preprocessor["features"]
        n = len(X)
        out = np.zeros((n, len(self.preprocessor["columns"])), dtype=np.float32)
        c = 0
        for f in features:
            column = X[f["name"]] if f["name"] in X else pd.Series([None] * n)
            if f["kind"] == "numeric":
                v = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
                v = np.where(np.isnan(v), f["impute"], v)
                out[:, c] = (v - f["mean"]) / f["std"] if f["scale"] == "standard" else v
                c += 1
            elif f["kind"] == "categorical":
                cats = f["categories"]
                text = _text(column)
                missing = text.isna().to_numpy()
                index = {cat: j for j, cat in enumerate(cats)}
                other = len(cats)
                j = text.map(lambda v: index.get(v, other) if isinstance(v, str) else other).to_numpy(dtype=np.int64, copy=True)
                j[missing] = index.get(f["impute"], other)
                out[np.arange(n), c + j] = 1.0
                c += len(cats) + 1
            elif f["kind"] == "date":
                text = _text(column).astype("string")
                for part in f["parts"]:
                    if part == "year":
                        year = pd.to_numeric(text.str.slice(0, 4), errors="coerce").to_numpy(dtype=np.float64)
                        out[:, c] = np.where(np.isnan(year), 0.0, (year - f["yearMean"]) / f["yearStd"])
                        c += 1
                    elif part == "month_cyclic":
                        month = pd.to_numeric(text.str.slice(5, 7), errors="coerce").to_numpy(dtype=np.float64)
                        angle = 2 * math.pi * (month - 1) / 12
                        ok = ~np.isnan(month)
                        out[:, c] = np.where(ok, np.sin(angle), 0.0)
                        out[:, c + 1] = np.where(ok, np.cos(angle), 0.0)
                        c += 2
                    else:
                        raise ValueError(f"date part {part} is not implemented in the benchmark's Python encoder")
            else:
                raise ValueError(f"feature kind {f['kind']} is not implemented in the benchmark's Python encoder")
        return out
