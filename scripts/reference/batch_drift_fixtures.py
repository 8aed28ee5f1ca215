#!/usr/bin/env python3
"""Reference fixtures for Perennial's batch drift tests (src/drift/batch).

Generates test/fixtures/drift/batch/*.json: seeded inputs (stored as data, rounded
to 6 significant digits so the JSON stays small and the numbers are exact in both
languages) and the outputs of scipy / Evidently for every method.

Python is never part of the product; this script only produces committed JSON.

    pip install scipy evidently 'pandas<3'
    python3 scripts/reference/batch_drift_fixtures.py

Versions used are recorded in each file ("versions").
"""
import json
import math
import os
import sys
import warnings

# Evidently iterates over Python sets of category labels: fix the hash seed so
# the summation order, hence the last bits of its results, are reproducible.
if os.environ.get("PYTHONHASHSEED") != "0":
    os.execve(sys.executable, [sys.executable] + sys.argv, {**os.environ, "PYTHONHASHSEED": "0"})

import numpy as np
import pandas as pd
import scipy
import scipy.stats as st
from scipy.stats import chi2_contingency

import evidently
from evidently.legacy.core import ColumnType
from evidently.legacy.calculations.stattests.registry import get_stattest
from evidently.legacy.calculations.stattests import (
    anderson_darling_test,
    chi_stat_test,
    cramer_von_mises,
    energy_dist_test,
    epps_singleton_test,
    fisher_exact_test,
    g_test,
    hellinger_stat_test,
    jensenshannon_stat_test,
    kl_div_stat_test,
    ks_stat_test,
    mann_whitney_u_stat_test,
    psi_stat_test,
    t_test,
    tvd_test,
    wasserstein_stat_test,
    z_stat_test,
)
from evidently.legacy.calculations.stattests.cramer_von_mises_stattest import _cvm_2samp

warnings.filterwarnings("ignore")

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "drift", "batch")
VERSIONS = {"scipy": scipy.__version__, "evidently": evidently.__version__, "numpy": np.__version__, "pandas": pd.__version__}


def r6(a):
    return np.array([float(f"{x:.6g}") for x in a])


def num(x):
    """JSON-safe float (None for NaN, strings for infinities)."""
    if x is None:
        return None
    x = float(x)
    if math.isnan(x):
        return None
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def evid(test, ref, cur, ftype):
    r = test(pd.Series(ref), pd.Series(cur), ftype, None)
    return {"score": num(r.drift_score), "drift": bool(r.drifted), "threshold": r.actual_threshold}


def numerical_case(name, ref, cur, note, skip=()):
    """ref/cur: arrays possibly holding NaN/inf (missing)."""
    ref = np.asarray(ref, dtype=float)
    cur = np.asarray(cur, dtype=float)
    rc = ref[np.isfinite(ref)]
    cc = cur[np.isfinite(cur)]
    T = ColumnType.Numerical
    res = {}
    ks = st.ks_2samp(rc, cc)
    res["ks"] = {"statistic": num(ks.statistic), "p_value": num(ks.pvalue), **{"evidently": evid(ks_stat_test, rc, cc, T)}}
    ksa = st.ks_2samp(rc, cc, method="asymp")
    res["ks_asymp"] = {"statistic": num(ksa.statistic), "p_value": num(ksa.pvalue)}
    for key, test in [
        ("wasserstein", wasserstein_stat_test),
        ("psi", psi_stat_test),
        ("kl_div", kl_div_stat_test),
        ("jensenshannon", jensenshannon_stat_test),
        ("hellinger", hellinger_stat_test),
        ("ed", energy_dist_test),
    ]:
        e = evid(test, rc, cc, T)
        res[key] = {"statistic": e["score"], "p_value": None, "evidently": e}
    if len(np.unique(np.concatenate([rc, cc]))) > 1:
        ad = st.anderson_ksamp([rc, cc])
        res["anderson"] = {"statistic": num(ad.statistic), "p_value": num(ad.pvalue), "evidently": evid(anderson_darling_test, rc, cc, T)}
        if "cramer_von_mises" not in skip:
            # Evidently's _cvm_2samp is a copy of scipy's; its exact branch fails
            # under numpy 2 (uint overflow cast), so scipy's function is the reference.
            cv = st.cramervonmises_2samp(rc, cc, method="auto")
            res["cramer_von_mises"] = {"statistic": num(cv.statistic), "p_value": num(cv.pvalue)}
            try:
                res["cramer_von_mises"]["evidently"] = evid(cramer_von_mises, rc, cc, T)
            except Exception as exc:  # noqa: BLE001
                res["cramer_von_mises"]["evidently_error"] = type(exc).__name__
        mw = st.mannwhitneyu(rc, cc, alternative="less")
        res["mannw"] = {"statistic": num(mw.statistic), "p_value": num(mw.pvalue), "evidently": evid(mann_whitney_u_stat_test, rc, cc, T)}
        if st.iqr(np.concatenate([rc, cc])) > 0:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                es = st.epps_singleton_2samp(rc, cc)
            res["es"] = {"statistic": num(es.statistic), "p_value": num(es.pvalue), "evidently": evid(epps_singleton_test, rc, cc, T)}
            if any("full rank" in str(w.message) for w in caught):
                # scipy's value then depends on round-off noise in null eigenvalues
                res["es"]["rank_deficient"] = True
        tt = st.ttest_ind(rc, cc)
        res["t_test"] = {"statistic": num(tt.statistic), "p_value": num(tt.pvalue), "evidently": evid(t_test, rc, cc, T)}
    auto = get_stattest(pd.Series(rc), pd.Series(cc), T, None)
    return {
        "name": name,
        "note": note,
        "type": "numerical",
        "reference": [num(x) for x in ref],
        "current": [num(x) for x in cur],
        "missing": {"reference": int((~np.isfinite(ref)).sum()), "current": int((~np.isfinite(cur)).sum())},
        "auto": auto.name,
        "results": res,
    }


def categorical_case(name, ref, cur, note, tvd=True):
    """ref/cur: lists of str or None."""
    rs = pd.Series(ref, dtype=object)
    cs = pd.Series(cur, dtype=object)
    rc = rs.dropna()
    cc = cs.dropna()
    T = ColumnType.Categorical
    res = {}
    for key, test in [("chisquare", chi_stat_test), ("z", z_stat_test)]:
        e = evid(test, rc, cc, T)
        res[key] = {"p_value": e["score"], "evidently": e}
    # scipy statistics behind the Evidently p-values
    keys = sorted(set(rc.unique()) | set(cc.unique()))
    rcount = np.array([(rc == k).sum() for k in keys], dtype=float)
    ccount = np.array([(cc == k).sum() for k in keys], dtype=float)
    chi = st.chisquare(ccount, rcount * len(cc) / len(rc))
    res["chisquare"]["statistic"] = num(chi.statistic)
    # z statistic (Evidently's formula, first sorted key coded 0)
    p1 = (rc != keys[0]).mean()
    p2 = (cc != keys[0]).mean()
    P = (p1 * len(rc) + p2 * len(cc)) / (len(rc) + len(cc))
    if len(keys) > 1:
        res["z"]["statistic"] = num((p1 - p2) / np.sqrt(P * (1 - P) * (1 / len(rc) + 1 / len(cc))))
    if len(rc) == len(cc):
        e = evid(g_test, rc, cc, T)
        g = st.power_divergence(ccount, rcount, lambda_="log-likelihood")
        res["g_test"] = {"statistic": num(g.statistic), "p_value": e["score"], "evidently": e}
        if len(keys) <= 2:
            e = evid(fisher_exact_test, rc, cc, T)
            res["fisher_exact"] = {"p_value": e["score"], "evidently": e}
    if tvd:
        e = evid(tvd_test, rc, cc, T)
        res["TVD"] = {"p_value": e["score"], "evidently": e}
    for key, test in [("psi", psi_stat_test), ("kl_div", kl_div_stat_test), ("jensenshannon", jensenshannon_stat_test), ("hellinger", hellinger_stat_test)]:
        e = evid(test, rc.copy(), cc.copy(), T)
        res[key] = {"statistic": e["score"], "p_value": None, "evidently": e}
    table = np.vstack([rcount, ccount])
    c2 = chi2_contingency(table)
    res["chisquare_alibi"] = {"statistic": num(c2.statistic), "p_value": num(c2.pvalue)}
    auto = get_stattest(rc, cc, T, None)
    return {
        "name": name,
        "note": note,
        "type": "categorical",
        "reference": list(ref),
        "current": list(cur),
        "missing": {"reference": int(rs.isna().sum()), "current": int(cs.isna().sum())},
        "unseen": sorted(set(cc.unique()) - set(rc.unique())),
        "auto": auto.name,
        "results": res,
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261126)
    numerical = []
    numerical.append(numerical_case("tiny_8_11", r6(rng.normal(0, 1, 8)), r6(rng.normal(0.8, 1, 11)), "tiny samples: exact KS, exact CvM, ES small-sample correction"))
    numerical.append(numerical_case("tiny_ties", rng.integers(0, 4, 9).astype(float), rng.integers(1, 5, 7).astype(float), "tiny discrete samples with ties"))
    numerical.append(numerical_case("small_15_20", r6(rng.normal(0, 1, 15)), r6(rng.normal(0.3, 1.5, 20)), "CvM exact at the 20 limit"))
    numerical.append(numerical_case("mannw_exact_6_30", r6(rng.normal(0, 1, 6)), r6(rng.normal(1.0, 1, 30)), "Mann-Whitney exact path (min size <= 8, no ties)"))
    numerical.append(numerical_case("equal_100", r6(rng.normal(0, 1, 100)), r6(rng.normal(0.25, 1, 100)), "equal sizes: KS exact square formula"))
    numerical.append(numerical_case("normal_500", r6(rng.normal(0, 1, 500)), r6(rng.normal(0.1, 1.1, 450)), "~500 rows, mild shift"))
    numerical.append(numerical_case("poisson_500", rng.poisson(3, 500).astype(float), rng.poisson(3.4, 520).astype(float), "discrete, <= 20 distinct values: per-value bins"))
    numerical.append(numerical_case("cauchy_5000", r6(rng.standard_cauchy(5000)), r6(rng.standard_cauchy(4000) * 1.1 + 0.05), "heavy tails (Cauchy)"))
    numerical.append(numerical_case("lognormal_5000", r6(rng.lognormal(0, 1, 5000)), r6(rng.lognormal(0.05, 1, 5000)), "heavy tails (lognormal), equal sizes"))
    numerical.append(numerical_case("large_20000", r6(rng.normal(0, 1, 20000)), r6(rng.normal(0.02, 1, 15000)), "max size > 10000: asymptotic KS (Pelz-Good / Smirnov paths)", skip=()))
    numerical.append(numerical_case("unbalanced_60_12000", r6(rng.normal(0, 1, 60)), r6(rng.normal(0.3, 1, 12000)), "asymptotic KS with small effective n (Durbin / Pomeranz)"))
    gap_ref = r6(rng.lognormal(0, 0.6, 12000))
    gap_cur = r6(rng.lognormal(0.1, 0.6, 11000))
    gap_cur = gap_cur[(gap_cur < 1.2) | (gap_cur > 2.0)]
    numerical.append(numerical_case("gap_12000", gap_ref, gap_cur, "current has an empty range: zero bins filled by min/1e6 (psi, kl_div)"))
    ref_m = r6(rng.normal(5, 2, 300))
    cur_m = r6(rng.normal(5.5, 2, 280))
    ref_m[[3, 50, 51]] = np.nan
    ref_m[100] = np.inf
    cur_m[[0, 7]] = np.nan
    cur_m[9] = -np.inf
    numerical.append(numerical_case("missing_300", ref_m, cur_m, "NaN and +-inf are missing (Evidently drops them)"))
    same = r6(rng.normal(0, 1, 200))
    numerical.append(numerical_case("identical_200", same, same.copy(), "identical samples"))
    numerical.append(numerical_case("three_values_1500", rng.integers(0, 3, 1500).astype(float), rng.integers(0, 3, 1400).astype(float), "numerical with 3 distinct values, reference > 1000 -> jensenshannon"))

    cats = list("abcdefghijkl")
    categorical = []
    categorical.append(categorical_case("cat_tiny", list(rng.choice(["a", "b", "c"], 10)), list(rng.choice(["a", "b", "c"], 12)), "tiny"))
    categorical.append(categorical_case("cat_binary_40", list(rng.choice(["no", "yes"], 40, p=[0.7, 0.3])), list(rng.choice(["no", "yes"], 40, p=[0.5, 0.5])), "binary, equal sizes: fisher_exact and g_test"))
    ref_c = list(rng.choice(cats[:5], 500))
    cur_c = list(rng.choice(cats[:6], 400))
    ref_c[10] = None
    cur_c[3] = None
    cur_c[4] = None
    categorical.append(categorical_case("cat_unseen_500", ref_c, cur_c, "category 'f' unseen in reference; missing values"))
    p = np.array([1 / (i + 1) for i in range(12)])
    p /= p.sum()
    q = np.roll(p, 1) * 0.3 + p * 0.7
    categorical.append(categorical_case("cat_5000", list(rng.choice(cats, 5000, p=p)), list(rng.choice(cats, 5000, p=q)), "12 categories, zipf-like, equal sizes", tvd=True))
    categorical.append(categorical_case("cat_binary_1200", list(rng.choice(["x", "y"], 1200, p=[0.6, 0.4])), list(rng.choice(["x", "y"], 1200, p=[0.55, 0.45])), "binary, reference > 1000 -> jensenshannon"))

    # null distributions on their own, over every branch scipy takes
    from scipy.stats import distributions as dist
    from scipy.stats._stats_py import _attempt_exact_2kssamp
    kstwo = []
    for n in [3, 10, 60, 140, 141, 500, 5000, 100000, 100001, 500000]:
        for x in [0.6 / n, 0.9 / n, 1.5 / n, 0.004, 0.01, 0.03, 0.08, 0.15, 0.3, 0.55, 0.9, 1 - 0.5 / n]:
            if 0 < x < 1:
                kstwo.append({"n": n, "x": x, "sf": num(dist.kstwo.sf(x, n))})
    exact = []
    for n1, n2 in [(8, 11), (50, 50), (200, 310), (1000, 1000), (3000, 4999), (10000, 9000)]:
        for d in [0.02, 0.05, 0.1, 0.2, 0.4, 0.8]:
            ok, dd, p = _attempt_exact_2kssamp(n1, n2, math.gcd(n1, n2), d, "two-sided")
            if ok:
                exact.append({"n1": n1, "n2": n2, "d": d, "d_rounded": num(dd), "p": num(p)})
    with open(os.path.join(OUT, "distributions.json"), "w") as f:
        json.dump({"generator": "scripts/reference/batch_drift_fixtures.py", "versions": VERSIONS, "kstwo_sf": kstwo, "ks2_exact": exact}, f, separators=(",", ":"))

    # MMD as Alibi Detect computes it (GaussianRBF, median-heuristic sigma on the
    # reference x current distances, unbiased MMD^2, p = mean(mmd2 <= permuted)),
    # written out in numpy; permutations drawn like Perennial's engine: legacy
    # RandomState(seed).permutation(N) applied to the labels, 100 times.
    mmd_cases = []
    for name, shift, seed in [("mmd_same", 0.0, 0), ("mmd_shift", 0.35, 5)]:
        xr = r6(rng.normal(0, 1, 3 * 180)).reshape(180, 3)
        xc = r6(rng.normal(0, 1, 3 * 150)).reshape(150, 3)
        xc[:, 0] += shift
        mu = xr.mean(axis=0)
        sd = xr.std(axis=0)
        zr = (xr - mu) / sd
        zc = (xc - mu) / sd
        z = np.vstack([zr, zc])
        n, m = len(zr), len(zc)
        d2 = ((z[:, None, :] - z[None, :, :]) ** 2).sum(-1)
        cross = np.sort(d2[:n, n:].ravel())
        sigma = math.sqrt(0.5 * cross[(n * m) // 2 - 1])
        K = np.exp(-d2 / (2 * sigma**2))
        np.fill_diagonal(K, 0)

        def mmd2(lab):
            x = lab == 0
            y = ~x
            return K[np.ix_(x, x)].sum() / (n * (n - 1)) + K[np.ix_(y, y)].sum() / (m * (m - 1)) - 2 * K[np.ix_(x, y)].sum() / (n * m)

        labels = np.array([0] * n + [1] * m)
        obs = mmd2(labels)
        rs = np.random.RandomState(seed)
        perms = [mmd2(labels[rs.permutation(n + m)]) for _ in range(100)]
        p = float(np.mean([obs <= q for q in perms]))
        mmd_cases.append({"name": name, "seed": seed, "reference": [[num(v) for v in col] for col in xr.T], "current": [[num(v) for v in col] for col in xc.T],
                          "statistic": num(obs), "bandwidth": sigma, "p_value": p, "permutations": 100})
    with open(os.path.join(OUT, "mmd.json"), "w") as f:
        json.dump({"generator": "scripts/reference/batch_drift_fixtures.py", "versions": VERSIONS, "cases": mmd_cases}, f, separators=(",", ":"))

    # End to end: Evidently's legacy Report (DataDriftTable + DatasetDriftMetric)
    from evidently.legacy.report import Report
    from evidently.legacy.metrics import DataDriftTable, DatasetDriftMetric
    from evidently.legacy.pipeline.column_mapping import ColumnMapping

    def report_case(name, ref, cur, num_cols, cat_cols, stattest=None, threshold=None, drift_share=0.5):
        kw = {}
        if stattest:
            kw["stattest"] = stattest
        if threshold is not None:
            kw["stattest_threshold"] = threshold
        rep = Report(metrics=[DataDriftTable(**kw), DatasetDriftMetric(drift_share=drift_share, **kw)])
        rep.run(reference_data=ref, current_data=cur, column_mapping=ColumnMapping(numerical_features=num_cols, categorical_features=cat_cols, target=None, prediction=None))
        d = rep.as_dict()["metrics"]
        table, ds = d[0]["result"], d[1]["result"]
        cols = {k: {"stattest": v["stattest_name"], "score": num(v["drift_score"]), "drift": bool(v["drift_detected"]), "threshold": v["stattest_threshold"]} for k, v in table["drift_by_columns"].items()}

        def col(df, c):
            if c in num_cols:
                return [num(x) for x in df[c]]
            return [None if (x is None or (isinstance(x, float) and math.isnan(x))) else str(x) for x in df[c]]

        return {"name": name, "numerical": num_cols, "categorical": cat_cols, "options": {"method": stattest, "threshold": threshold, "drift_share": drift_share},
                "reference": {c: col(ref, c) for c in num_cols + cat_cols}, "current": {c: col(cur, c) for c in num_cols + cat_cols},
                "columns": cols, "number_of_drifted_columns": ds["number_of_drifted_columns"], "share": ds["share_of_drifted_columns"], "drift": bool(ds["dataset_drift"])}

    reports = []
    n1, n2 = 800, 700
    ref = pd.DataFrame({"a": r6(rng.normal(0, 1, n1)), "b": rng.integers(0, 4, n1).astype(float), "c": rng.choice(["x", "y", "z"], n1), "d": rng.choice(["p", "q"], n1)})
    cur = pd.DataFrame({"a": r6(rng.normal(0.3, 1, n2)), "b": rng.integers(0, 4, n2).astype(float), "c": rng.choice(["x", "y", "z"], n2), "d": rng.choice(["p", "q"], n2, p=[0.4, 0.6])})
    reports.append(report_case("report_small_auto", ref, cur, ["a", "b"], ["c", "d"]))
    n1, n2 = 3000, 2500
    ref = pd.DataFrame({"a": r6(rng.normal(0, 1, n1)), "e": r6(rng.lognormal(0, 1, n1)), "b": rng.integers(0, 3, n1).astype(float), "c": rng.choice(list("uvwxyz"), n1)})
    cur = pd.DataFrame({"a": r6(rng.normal(0.05, 1.3, n2)), "e": r6(rng.lognormal(0, 1, n2)), "b": rng.integers(0, 3, n2).astype(float), "c": rng.choice(list("uvwxyz"), n2, p=[0.3, 0.3, 0.1, 0.1, 0.1, 0.1])})
    ref.loc[[5, 17, 200], "a"] = np.nan
    cur.loc[[1, 2], "e"] = np.nan
    ref.loc[[9], "c"] = None
    reports.append(report_case("report_large_auto_missing", ref, cur, ["a", "e", "b"], ["c"]))
    reports.append(report_case("report_psi_threshold", ref, cur, ["a", "e", "b"], ["c"], stattest="psi", threshold=0.05, drift_share=0.3))
    with open(os.path.join(OUT, "report.json"), "w") as f:
        json.dump({"generator": "scripts/reference/batch_drift_fixtures.py", "versions": VERSIONS, "cases": reports}, f, separators=(",", ":"))

    for fname, cases in [("numerical.json", numerical), ("categorical.json", categorical)]:
        with open(os.path.join(OUT, fname), "w") as f:
            json.dump({"generator": "scripts/reference/batch_drift_fixtures.py", "versions": VERSIONS, "cases": cases}, f, separators=(",", ":"))
        print(fname, os.path.getsize(os.path.join(OUT, fname)), "bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
