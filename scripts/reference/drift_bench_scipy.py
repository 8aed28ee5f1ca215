"""The scipy side of `npm run bench:drift` (not part of the product).

    python3 scripts/reference/drift_bench_scipy.py <data dir>

<data dir> holds meta.json and one raw little-endian file per column and
sample, written by scripts/bench/drift.ts:
  <column>.ref.f64 / <column>.cur.f64   numerical columns, float64, NaN = missing
  <column>.ref.i32 / <column>.cur.i32   categorical columns as integer codes, -1 = missing
meta.json: {"suites": [{"name": ..., "columns": [{"name", "kind": "f64"|"i32", "method"}]}]}

Each test is done the way Evidently does it with scipy (missing values dropped):
  ks             scipy.stats.ks_2samp(reference, current).pvalue
  wasserstein    scipy.stats.wasserstein_distance(reference, current) / max(std(reference), 0.001)
  jensenshannon  scipy.spatial.distance.jensenshannon(reference shares, current shares) over the union of categories
  chisquare      scipy.stats.chisquare(current counts, reference shares * current n)
  psi            sum((cur - ref) * ln(cur / ref)) over the shares (zeros replaced by 0.0001)
Loading is not timed; each suite is timed with time.perf_counter. Prints JSON on stdout.
"""
import json
import os
import sys
import time
import warnings

import numpy as np
import scipy
from scipy import stats
from scipy.spatial import distance


def load(folder, column):
    ext = column["kind"]
    dtype = np.float64 if ext == "f64" else np.int32
    ref = np.fromfile(os.path.join(folder, f"{column['file']}.ref.{ext}"), dtype=dtype)
    cur = np.fromfile(os.path.join(folder, f"{column['file']}.cur.{ext}"), dtype=dtype)
    return ref, cur


def shares(ref, cur):
    ref = ref[ref >= 0]
    cur = cur[cur >= 0]
    size = int(max(ref.max(initial=-1), cur.max(initial=-1))) + 1
    rc = np.bincount(ref, minlength=size).astype(np.float64)
    cc = np.bincount(cur, minlength=size).astype(np.float64)
    keep = (rc + cc) > 0  # the union of categories present in either sample
    return rc[keep], cc[keep]


def run_test(method, ref, cur):
    if ref.dtype == np.float64:
        ref = ref[~np.isnan(ref)]
        cur = cur[~np.isnan(cur)]
    if method == "ks":
        r = stats.ks_2samp(ref, cur)
        return {"statistic": float(r.statistic), "p_value": float(r.pvalue)}
    if method == "wasserstein":
        norm = max(float(np.std(ref)), 0.001)
        return {"statistic": float(stats.wasserstein_distance(ref, cur) / norm), "p_value": None}
    if method == "jensenshannon":
        rc, cc = shares(ref, cur)
        return {"statistic": float(distance.jensenshannon(rc / rc.sum(), cc / cc.sum())), "p_value": None}
    if method == "chisquare":
        rc, cc = shares(ref, cur)
        r = stats.chisquare(cc, rc / rc.sum() * cc.sum())
        return {"statistic": float(r.statistic), "p_value": float(r.pvalue)}
    if method == "psi":
        if ref.dtype == np.float64:
            edges = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
            rc = np.histogram(ref, edges)[0].astype(np.float64)
            cc = np.histogram(cur, edges)[0].astype(np.float64)
        else:
            rc, cc = shares(ref, cur)
        rp = np.where(rc == 0, 0.0001, rc / rc.sum())
        cp = np.where(cc == 0, 0.0001, cc / cc.sum())
        return {"statistic": float(np.sum((cp - rp) * np.log(cp / rp))), "p_value": None}
    return None


def main():
    warnings.simplefilter("ignore", RuntimeWarning)
    folder = sys.argv[1]
    with open(os.path.join(folder, "meta.json")) as f:
        meta = json.load(f)
    out = {"scipy": scipy.__version__, "numpy": np.__version__, "suites": []}
    # warm up: scipy loads submodules lazily; keep that out of the timings
    small_f = np.linspace(0.0, 1.0, 50)
    small_i = np.arange(50, dtype=np.int32) % 5
    for method in ("ks", "wasserstein", "psi"):
        run_test(method, small_f, small_f[::-1].copy())
    for method in ("jensenshannon", "chisquare", "psi"):
        run_test(method, small_i, small_i[::-1].copy())
    for suite in meta["suites"]:
        data = [(c, *load(folder, c)) for c in suite["columns"]]
        results = []
        skipped = []
        start = time.perf_counter()
        for column, ref, cur in data:
            t0 = time.perf_counter()
            r = run_test(column["method"], ref, cur)
            if r is None:
                skipped.append(column["name"])
                continue
            r.update({"name": column["name"], "method": column["method"], "seconds": time.perf_counter() - t0})
            results.append(r)
        seconds = time.perf_counter() - start
        out["suites"].append({"name": suite["name"], "seconds": seconds, "columns": results, "skipped": skipped})
    json.dump(finite(out), sys.stdout, allow_nan=False)


def finite(value):
    """JSON has no NaN or Infinity: write them as null."""
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite(v) for v in value]
    return value


if __name__ == "__main__":
    main()
