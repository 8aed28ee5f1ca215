"""Generate reference fixtures for Perennial's streaming drift detectors.

Runs River's detectors (river.drift / river.drift.binary) on a set of streams
and writes, per case, the input stream and the 0-based indices at which River
flagged a drift / a warning. Python is only used here, never in the product.

    pip install river
    python3 scripts/reference/stream_drift_fixtures.py

Writes test/fixtures/drift/stream/*.json.
"""
from __future__ import annotations

import json
import math
import os
import random
import sys

import river
import scipy
from river import drift
from scipy import stats

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "drift", "stream")

# Perennial name -> (River class, Perennial/River parameter names are identical)
CLASSES = {
    "adwin": drift.ADWIN,
    "page-hinkley": drift.PageHinkley,
    "kswin": drift.KSWIN,
    "ddm": drift.binary.DDM,
    "eddm": drift.binary.EDDM,
    "hddm-a": drift.binary.HDDMA,
    "hddm-w": drift.binary.HDDMW,
}


def run(name, params, stream):
    det = CLASSES[name](**params)
    drifts, warnings = [], []
    for i, x in enumerate(stream):
        det.update(x)
        if det.drift_detected:
            drifts.append(i)
        if getattr(det, "warning_detected", False):
            warnings.append(i)
    return drifts, warnings


def docstring_print(name, params, stream):
    """Reproduce what River's docstring example prints (first warning after each drift)."""
    det = CLASSES[name](**params)
    lines, print_warning = [], True
    for i, x in enumerate(stream):
        det.update(x)
        if getattr(det, "warning_detected", False) and print_warning:
            lines.append(f"Warning detected at index {i}")
            print_warning = False
        if det.drift_detected:
            lines.append(f"Change detected at index {i}")
            print_warning = True
    return lines


def as_json_numbers(stream):
    return [float(x) if isinstance(x, float) else int(x) for x in stream]


cases = []


streams = {}


def add(case_id, name, params, stream, description, expect_doc=None, stream_id=None):
    stream_id = stream_id or case_id
    if stream_id in streams:
        assert streams[stream_id] == as_json_numbers(stream), stream_id
    streams[stream_id] = as_json_numbers(stream)
    drifts, warnings = run(name, params, stream)
    if expect_doc is not None:
        got = docstring_print(name, params, stream)
        assert got == expect_doc, (case_id, got, expect_doc)
    cases.append(
        {
            "id": case_id,
            "detector": name,
            "params": params,
            "description": description,
            "stream": stream_id,
            "drifts": drifts,
            "warnings": warnings,
        }
    )


# --- River docstring examples -------------------------------------------------
rng = random.Random(12345)
doc_numeric = rng.choices([0, 1], k=1000) + rng.choices(range(4, 8), k=1000)
add("doc-adwin", "adwin", {}, doc_numeric, stream_id="doc_numeric", description="River ADWIN docstring example",
    expect_doc=["Change detected at index 1023"])
add("doc-page-hinkley", "page-hinkley", {}, doc_numeric, stream_id="doc_numeric", description="River PageHinkley docstring example",
    expect_doc=["Change detected at index 1006"])
add("doc-kswin", "kswin", {"alpha": 0.0001, "seed": 42}, doc_numeric, stream_id="doc_numeric", description="River KSWIN docstring example",
    expect_doc=["Change detected at index 1016"])

rng = random.Random(42)
doc_binary = rng.choices([0, 1], k=1000)
doc_binary = doc_binary + rng.choices([0, 1], k=1000, weights=[0.3, 0.7])
add("doc-ddm", "ddm", {}, doc_binary, stream_id="doc_binary", description="River DDM docstring example",
    expect_doc=["Warning detected at index 1084", "Change detected at index 1334", "Warning detected at index 1492"])
add("doc-eddm", "eddm", {"alpha": 0.8, "beta": 0.75}, doc_binary, stream_id="doc_binary", description="River EDDM docstring example",
    expect_doc=["Warning detected at index 1059", "Change detected at index 1278"])
add("doc-hddm-a", "hddm-a", {}, doc_binary, stream_id="doc_binary", description="River HDDM_A docstring example",
    expect_doc=["Warning detected at index 451", "Change detected at index 1206"])
add("doc-hddm-w", "hddm-w", {}, doc_binary, stream_id="doc_binary", description="River HDDM_W docstring example",
    expect_doc=["Warning detected at index 451", "Change detected at index 1077"])

# --- Our own streams ------------------------------------------------------------
rng = random.Random(2024)
abrupt = [round(rng.gauss(0.0, 1.0), 6) for _ in range(1500)] + [round(rng.gauss(2.5, 1.0), 6) for _ in range(1500)]
rng = random.Random(7)
gradual = [round(rng.gauss(5.0 * min(1.0, max(0.0, (i - 1000) / 2000)), 1.0), 6) for i in range(4000)]
rng = random.Random(99)
# several regimes, including variance changes and a decrease: exercises resets
multi = []
for mu, sd, k in [(0, 1, 3000), (3, 1, 3000), (3, 4, 3000), (-2, 0.5, 3000), (0, 1, 8000)]:
    multi += [round(rng.gauss(mu, sd), 6) for _ in range(k)]
rng = random.Random(5)
uniform_shift = [round(rng.random(), 6) for _ in range(2000)] + [round(rng.random() * 0.6 + 0.3, 6) for _ in range(2000)]

for sid, s, desc in [
    ("abrupt", abrupt, "Gaussian mean shift 0 -> 2.5 at 1500"),
    ("gradual", gradual, "Gaussian mean ramps 0 -> 5 between 1000 and 3000"),
    ("multi", multi, "five regimes (mean and variance changes), 20000 values"),
]:
    add(f"{sid}-adwin", "adwin", {}, s, desc, stream_id=sid)
    add(f"{sid}-adwin-clock1", "adwin", {"clock": 1, "delta": 0.01, "grace_period": 5}, s, desc + "; clock=1", stream_id=sid)
    add(f"{sid}-page-hinkley", "page-hinkley", {"threshold": 20.0}, s, desc, stream_id=sid)
    add(f"{sid}-kswin", "kswin", {"seed": 7}, s, desc, stream_id=sid)

add("multi-adwin-buckets2", "adwin", {"max_buckets": 2, "min_window_length": 10, "delta": 0.05}, multi,
    "multi regimes; max_buckets=2", stream_id="multi")
add("multi-ph-up", "page-hinkley", {"mode": "up", "threshold": 30.0, "alpha": 0.999, "min_instances": 10}, multi,
    "multi regimes; mode=up, alpha=0.999", stream_id="multi")
add("multi-ph-down", "page-hinkley", {"mode": "down", "threshold": 30.0, "delta": 0.01}, multi,
    "multi regimes; mode=down", stream_id="multi")
add("uniform-kswin-set-sampling", "kswin", {"seed": 123, "window_size": 500, "stat_size": 30, "alpha": 0.001},
    uniform_shift, "uniform support shrink; window 500 (CPython's set-based sampling)")
add("uniform-kswin-bigseed", "kswin", {"seed": 2**40 + 12345, "window_size": 200, "stat_size": 50}, uniform_shift,
    "uniform support shrink; multi-word seed, window 200/50", stream_id="uniform_shift")
add("multi-kswin-alpha", "kswin", {"seed": 0, "alpha": 0.01, "window_size": 150, "stat_size": 40}, multi,
    "multi regimes; seed 0, window 150/40", stream_id="multi")

# KSWIN warm-started with River's `window` argument (Perennial: comma-separated string)
rng = random.Random(21)
warm = [round(rng.gauss(0.0, 1.0), 6) for _ in range(100)]
drifts, warnings = run("kswin", {"seed": 3, "window": warm}, abrupt)
cases.append({"id": "abrupt-kswin-warm-window", "detector": "kswin",
              "params": {"seed": 3, "window": ",".join(repr(v) for v in warm)},
              "description": "abrupt shift; KSWIN started with a full initial window",
              "stream": "abrupt", "drifts": drifts, "warnings": warnings})

# Binary error streams
def bernoulli(rng, probs):
    return [1 if rng.random() < p else 0 for p in probs]

rng = random.Random(11)
err_abrupt = bernoulli(rng, [0.1] * 2000 + [0.35] * 2000)
rng = random.Random(12)
err_gradual = bernoulli(rng, [0.1 + 0.3 * min(1.0, max(0.0, (i - 1500) / 2500)) for i in range(5000)])
rng = random.Random(13)
err_multi = bernoulli(rng, [0.05] * 3000 + [0.3] * 3000 + [0.1] * 3000 + [0.5] * 3000 + [0.2] * 3000)
rng = random.Random(14)
err_decrease = bernoulli(rng, [0.4] * 2000 + [0.1] * 2000)

for sid, s, desc in [
    ("err-abrupt", err_abrupt, "error rate 0.10 -> 0.35 at 2000"),
    ("err-gradual", err_gradual, "error rate ramps 0.1 -> 0.4 over 1500..4000"),
    ("err-multi", err_multi, "error rate regimes 0.05/0.3/0.1/0.5/0.2"),
]:
    add(f"{sid}-ddm", "ddm", {}, s, desc, stream_id=sid)
    add(f"{sid}-eddm", "eddm", {}, s, desc, stream_id=sid)
    add(f"{sid}-hddm-a", "hddm-a", {}, s, desc, stream_id=sid)
    add(f"{sid}-hddm-w", "hddm-w", {}, s, desc, stream_id=sid)

add("err-multi-ddm-params", "ddm", {"warm_start": 100, "warning_threshold": 1.5, "drift_threshold": 2.5}, err_multi,
    "error regimes; custom DDM thresholds", stream_id="err_multi")
add("err-multi-eddm-params", "eddm", {"warm_start": 10, "alpha": 0.9, "beta": 0.8}, err_multi,
    "error regimes; custom EDDM thresholds", stream_id="err_multi")
add("err-decrease-hddm-a-2sided", "hddm-a", {"two_sided_test": True}, err_decrease,
    "error rate 0.4 -> 0.1; two-sided", stream_id="err_decrease")
add("err-decrease-hddm-w-2sided", "hddm-w", {"two_sided_test": True, "lambda_val": 0.1}, err_decrease,
    "error rate 0.4 -> 0.1; two-sided, lambda 0.1", stream_id="err_decrease")
add("err-multi-hddm-a-2sided", "hddm-a", {"two_sided_test": True, "drift_confidence": 0.0001,
    "warning_confidence": 0.01}, err_multi, "error regimes; two-sided, custom confidences")
add("err-multi-hddm-w-2sided", "hddm-w", {"two_sided_test": True, "drift_confidence": 0.0001,
    "warning_confidence": 0.01, "lambda_val": 0.02}, err_multi, "error regimes; two-sided, custom")

os.makedirs(OUT, exist_ok=True)
meta = {"river": river.__version__, "scipy": scipy.__version__, "python": sys.version.split()[0]}
with open(os.path.join(OUT, "river_cases.json"), "w") as f:
    json.dump({"generated_by": "scripts/reference/stream_drift_fixtures.py", **meta, "streams": streams, "cases": cases}, f)

# --- Building blocks: CPython random.sample and SciPy ks_2samp -------------------
samples = []
for seed, n, k, draws in [(42, 70, 30, 5), (0, 70, 30, 3), (7, 150, 50, 3), (123, 470, 30, 3),
                          (2**40 + 12345, 150, 50, 3), (2**53 - 1, 1000, 10, 3), (1, 5, 5, 4), (3, 100, 1, 4)]:
    r = random.Random(seed)
    samples.append({"seed": seed, "n": n, "k": k,
                    "first_uint32": random.Random(seed).getrandbits(32),
                    "draws": [r.sample(range(n), k) for _ in range(draws)]})

ks_cases = []
rng = random.Random(77)
for n, shift, ints in [(30, 0.0, False), (30, 1.0, False), (30, 0.0, True), (30, 2.0, True), (50, 0.5, False),
                       (100, 0.3, False), (100, 0.0, True), (500, 0.2, False), (1000, 0.1, False),
                       (5, 1.0, False), (1, 1.0, False), (2000, 0.05, False), (30, 10.0, False)]:
    for _ in range(3):
        if ints:
            a = [rng.randrange(0, 5) for _ in range(n)]
            b = [rng.randrange(0, 5) + int(shift) for _ in range(n)]
        else:
            a = [round(rng.gauss(0, 1), 6) for _ in range(n)]
            b = [round(rng.gauss(shift, 1), 6) for _ in range(n)]
        res = stats.ks_2samp(a, b, method="auto")
        ks_cases.append({"a": a, "b": b, "statistic": float(res.statistic), "pvalue": float(res.pvalue)})

with open(os.path.join(OUT, "building_blocks.json"), "w") as f:
    json.dump({"generated_by": "scripts/reference/stream_drift_fixtures.py", **meta,
               "python_random_sample": samples, "ks_2samp": ks_cases}, f)

print(f"wrote {len(cases)} cases, {len(samples)} sampling cases, {len(ks_cases)} KS cases to {os.path.normpath(OUT)}")
for c in cases:
    print(f"  {c['id']:32s} drifts={len(c['drifts']):3d} warnings={len(c['warnings']):4d} first drifts={c['drifts'][:4]}")
