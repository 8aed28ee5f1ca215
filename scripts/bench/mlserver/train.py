"""
The MLServer side of scripts/bench/serve.ts: trains a scikit-learn
MLPClassifier with the weather version's hyper-parameters on the matrix
Perennial's preprocessor produced for that version's training rows, puts
Perennial's fitted preprocessor in front of it (perennial_features.py) so
MLServer takes the same raw-column OIP requests, checks that encoding against
Perennial's on the benchmark's request rows, and saves the pipeline with joblib.

    python train.py <export.json> <model.joblib>

Prints one JSON line: accuracies, the encoding check, package versions.
"""

import json
import sys
import warnings

import joblib
import numpy as np
import pandas as pd
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline

from perennial_features import PerennialFeatures


def matrix(part):
    return np.asarray(part["x"], dtype=np.float32).reshape(part["rows"], part["cols"])


def main(export_path: str, model_path: str) -> None:
    with open(export_path, encoding="utf-8") as f:
        export = json.load(f)
    params = export["params"]
    classes = np.asarray(export["classes"], dtype=object)
    x_train, y_train = matrix(export["train"]), classes[np.asarray(export["train"]["y"], dtype=np.int64)]
    x_holdout, y_holdout = matrix(export["holdout"]), classes[np.asarray(export["holdout"]["y"], dtype=np.int64)]

    # 'balanced' class weights as Perennial's training uses them (n / (k * n_c)), as sample weights.
    weights = None
    if params.get("classWeight", "balanced") == "balanced":
        seen, counts = np.unique(y_train, return_counts=True)
        per_class = dict(zip(seen, len(y_train) / (len(seen) * counts)))
        weights = np.asarray([per_class[v] for v in y_train])

    activation = {"relu": "relu", "tanh": "tanh", "sigmoid": "logistic"}.get(params["activation"], "relu")
    mlp = MLPClassifier(
        hidden_layer_sizes=tuple(params["hiddenUnits"]),
        activation=activation,
        solver="adam",
        learning_rate_init=params["learningRate"],
        batch_size=params["batchSize"],
        max_iter=params["epochs"],
        random_state=params["seed"],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed number of epochs, as Perennial trains
        mlp.fit(x_train, y_train, sample_weight=weights)

    features = PerennialFeatures(export["preprocessor"])
    check = export["check"]
    encoded = features.transform(pd.DataFrame(check["columns"]))
    encoding_max_diff = float(np.max(np.abs(encoded - matrix(check))))
    if encoding_max_diff > 1e-6:
        raise SystemExit(f"the Python encoding differs from Perennial's by {encoding_max_diff} on the request rows")

    pipeline = Pipeline([("features", features), ("mlp", mlp)])
    joblib.dump(pipeline, model_path)
    print(
        json.dumps(
            {
                "trainRows": int(x_train.shape[0]),
                "inputColumns": int(x_train.shape[1]),
                "hidden": list(params["hiddenUnits"]),
                "activation": activation,
                "trainAccuracy": float(mlp.score(x_train, y_train)),
                "holdoutAccuracy": float(mlp.score(x_holdout, y_holdout)),
                "encodingMaxDiff": encoding_max_diff,
                "sklearn": sklearn.__version__,
                "pandas": pd.__version__,
                "numpy": np.__version__,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
