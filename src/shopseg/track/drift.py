"""How much the customers changed between two runs: feature PSI, segment shares, embedding drift.

* **Population stability index** per feature: the earlier run's values are cut into (up to)
  ten quantile bins, and ``PSI = sum((later share - earlier share) x ln(later / earlier))``
  over the bins (a share of an empty bin counts as 0.0001). The usual reading, kept here as
  verdicts: under 0.1 ``stable``, 0.1 to 0.25 ``moderate``, 0.25 and over ``shifted``. A
  feature with few distinct values gets fewer bins (ties share one), so a count like
  ``frequency`` is compared value by value where the values are few.
* **Share changes**: every tracked segment's share of customers in both runs.
* **Embedding drift**: a domain classifier (gradient-boosted trees, 5-fold cross-validation)
  tries to tell the earlier run's customers from the later run's in one representation (the
  earlier model's fused behaviour + text space); its ROC AUC is 0.5 when the two are
  indistinguishable. Verdicts: under 0.55 ``stable``, 0.55 to 0.65 ``moderate``, 0.65 and
  over ``shifted`` (rules of thumb: at a few thousand customers per side, two samples of one
  shop score 0.5 +- 0.02). At most ``max_rows`` customers per side are used (a seeded sample).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PSI_MODERATE, PSI_SHIFTED = 0.1, 0.25
AUC_MODERATE, AUC_SHIFTED = 0.55, 0.65
BINS = 10
EMPTY_SHARE = 1e-4
STABLE, MODERATE, SHIFTED = "stable", "moderate", "shifted"


def verdict(value: float | None, moderate: float, shifted: float) -> str | None:
    """``stable`` / ``moderate`` / ``shifted`` for a drift measure and its two thresholds (None stays None)."""
    if value is None or not np.isfinite(value):
        return None
    return SHIFTED if value >= shifted else MODERATE if value >= moderate else STABLE


def psi(expected: np.ndarray, actual: np.ndarray, bins: int = BINS) -> float:
    """Population stability index of ``actual`` against ``expected`` (quantile bins of ``expected``)."""
    expected = np.asarray(expected, dtype=float)
    actual = np.asarray(actual, dtype=float)
    expected, actual = expected[np.isfinite(expected)], actual[np.isfinite(actual)]
    if not len(expected) or not len(actual):
        return float("nan")
    edges = np.unique(np.quantile(expected, np.linspace(0, 1, bins + 1)[1:-1]))
    before = np.bincount(np.searchsorted(edges, expected, side="right"), minlength=len(edges) + 1) / len(expected)
    after = np.bincount(np.searchsorted(edges, actual, side="right"), minlength=len(edges) + 1) / len(actual)
    before, after = np.maximum(before, EMPTY_SHARE), np.maximum(after, EMPTY_SHARE)
    return float(np.sum((after - before) * np.log(after / before)))


def feature_psi(earlier: pd.DataFrame, later: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """feature, psi, verdict for every column in both frames (largest PSI first)."""
    rows = [
        {"feature": c, "psi": round(psi(earlier[c].to_numpy(), later[c].to_numpy()), 6)}
        for c in columns
        if c in earlier and c in later
    ]
    table = pd.DataFrame(rows, columns=["feature", "psi"])
    table["verdict"] = [verdict(v, PSI_MODERATE, PSI_SHIFTED) for v in table["psi"]]
    return table.sort_values(["psi", "feature"], ascending=[False, True], kind="stable").reset_index(drop=True)


def share_changes(earlier: pd.Series, later: pd.Series, names: dict[int, str]) -> pd.DataFrame:
    """tracked segment, name, customers and share in each run, and the change in share (points)."""
    before = earlier.value_counts()
    after = later.value_counts()
    ids = sorted(set(before.index) | set(after.index))
    table = pd.DataFrame(
        {
            "segment": ids,
            "name": [names.get(int(i), str(i)) for i in ids],
            "customers_before": [int(before.get(i, 0)) for i in ids],
            "customers_after": [int(after.get(i, 0)) for i in ids],
        }
    )
    table["share_before"] = (table["customers_before"] / max(len(earlier), 1)).round(6)
    table["share_after"] = (table["customers_after"] / max(len(later), 1)).round(6)
    table["share_change"] = (table["share_after"] - table["share_before"]).round(6)
    return table


def domain_auc(
    earlier: np.ndarray, later: np.ndarray, random_state: int = 0, max_rows: int = 20_000, folds: int = 5
) -> dict[str, object]:
    """Cross-validated ROC AUC of a classifier telling ``earlier`` rows from ``later`` ones (module docstring)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(random_state)
    parts = []
    for matrix in (earlier, later):
        matrix = np.asarray(matrix, dtype=float)
        rows = np.sort(rng.choice(len(matrix), size=max_rows, replace=False)) if len(matrix) > max_rows else None
        parts.append(matrix if rows is None else matrix[rows])
    if min(len(p) for p in parts) < folds * 2:
        return {"auc": None, "verdict": None, "rows": [len(p) for p in parts], "note": "too few customers"}
    data = np.vstack(parts)
    target = np.concatenate([np.zeros(len(parts[0])), np.ones(len(parts[1]))])
    model = HistGradientBoostingClassifier(
        max_iter=100, learning_rate=0.1, max_leaf_nodes=15, random_state=random_state
    )
    split = StratifiedKFold(folds, shuffle=True, random_state=random_state)
    # One OpenMP thread: at these sizes more threads only wait on each other (30 s instead of 2.5 s
    # for 1,000 rows on a busy 2-core machine), as in shopseg.value.predict.
    with threadpool_limits(limits=1, user_api="openmp"):
        probability = cross_val_predict(model, data, target, cv=split, method="predict_proba")[:, 1]
    auc = float(roc_auc_score(target, probability))
    return {
        "auc": round(auc, 4),
        "verdict": verdict(auc, AUC_MODERATE, AUC_SHIFTED),
        "rows": [len(p) for p in parts],
        "classifier": "HistGradientBoostingClassifier (100 trees, 15 leaves), 5-fold cross-validated",
    }


def thresholds() -> dict[str, object]:
    """The verdict thresholds, for the record."""
    return {
        "psi": {"moderate": PSI_MODERATE, "shifted": PSI_SHIFTED, "bins": BINS},
        "domain_auc": {"moderate": AUC_MODERATE, "shifted": AUC_SHIFTED},
    }
