"""The Evidently side of `npm run bench:read` (not part of the product).

    python3 scripts/reference/read_drift_evidently.py <reference.csv> <current.csv>

Times what a user of pandas + Evidently does to get the same report as
`perennial drift --reference A --current B`: pandas.read_csv of both files,
then Evidently's data drift table (each column's test chosen by Evidently).
Imports are not timed (the caller times the whole process separately).

Evidently >= 0.7 keeps the report API this uses under `evidently.legacy`;
older releases have it at the top level. Prints JSON on stdout.
"""

import json
import resource
import sys
import time
import warnings

import pandas as pd
import evidently

try:  # Evidently >= 0.7
    from evidently.legacy.metrics import DataDriftTable
    from evidently.legacy.report import Report

    API = "evidently.legacy.metrics.DataDriftTable"
except ImportError:  # Evidently < 0.7
    from evidently.metrics import DataDriftTable
    from evidently.report import Report

    API = "evidently.metrics.DataDriftTable"


def main(reference_path, current_path):
    warnings.simplefilter("ignore")  # Evidently and pandas warn about dtypes; not what is measured
    t0 = time.perf_counter()
    reference = pd.read_csv(reference_path)
    current = pd.read_csv(current_path)
    t1 = time.perf_counter()
    report = Report(metrics=[DataDriftTable()])
    report.run(reference_data=reference, current_data=current)
    result = report.as_dict()["metrics"][0]["result"]
    t2 = time.perf_counter()
    drifted = sorted(name for name, c in result["drift_by_columns"].items() if c["drift_detected"])
    methods = sorted({c["stattest_name"] for c in result["drift_by_columns"].values()})
    print(
        json.dumps(
            {
                "seconds": t2 - t0,
                "read_seconds": t1 - t0,
                "drift_seconds": t2 - t1,
                "rows": len(reference) + len(current),
                "number_of_columns": result["number_of_columns"],
                "drifted_columns": drifted,
                "dataset_drift": bool(result["dataset_drift"]),
                "methods": methods,
                # ru_maxrss is in KiB on Linux
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "api": API,
                "versions": {
                    "python": sys.version.split()[0],
                    "evidently": evidently.__version__,
                    "pandas": pd.__version__,
                },
            }
        )
    )


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
