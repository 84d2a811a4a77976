"""Predictive validity of segments: do segments found on the past separate customers' future?

A segmentation fitted on the calibration period is scored by eta squared (the share of
the between-customer variance explained by group membership, SS_between / SS_total) of
two holdout outcomes: spend and churn (no purchase). It is compared with classic RFM
quintile scoring grouped into the same number of groups, so "our segments explain X %
of future spend" has a yardstick.

RFM scoring: R, F and M are scored 1..5 by quintile like SQL ``NTILE(5)`` (rank, then
five near-equal groups; ties broken by customer id so the result is deterministic),
R reversed (recent = 5). The 125 RFM cells are grouped into k groups two ways:

* ``rfm_kmeans`` -- K-Means (k, seeded) on the three scores: the usual way to get k RFM
  segments;
* ``rfm_score_sum`` -- the sum R + F + M cut into k near-equal groups by rank: the
  simplest RFM "tiering".
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans

from shopseg.errors import ShopsegError

#: Calibration-period columns RFM scoring reads (behaviour feature names).
RFM_COLUMNS = ("recency_days", "frequency", "monetary_total")


def eta_squared(values: object, labels: object) -> float:
    """SS_between / SS_total of ``values`` (n,) grouped by ``labels`` (n,); 0 when values are constant."""
    y = np.asarray(values, dtype="float64")
    groups = pd.Series(y).groupby(np.asarray(labels))
    total = float(((y - y.mean()) ** 2).sum())
    if y.size == 0 or total <= 0:
        return 0.0
    between = float((groups.size() * (groups.mean() - y.mean()) ** 2).sum())
    return float(np.clip(between / total, 0.0, 1.0))


def ntile(values: pd.Series, n_tiles: int) -> pd.Series:
    """1..n_tiles by rank, near-equal group sizes (SQL NTILE); ties broken by index order."""
    order = values.sort_index(kind="stable").rank(method="first").reindex(values.index)
    return np.ceil(order * n_tiles / len(values)).clip(1, n_tiles).astype("int64")


def rfm_scores(rfm: pd.DataFrame) -> pd.DataFrame:
    """R, F, M scores 1..5 (columns r_score, f_score, m_score), index as ``rfm``.

    ``rfm`` needs the columns of :data:`RFM_COLUMNS`; lower recency means a higher R.
    """
    missing = [c for c in RFM_COLUMNS if c not in rfm.columns]
    if missing:
        raise ShopsegError(f"RFM scoring needs the column '{missing[0]}'.")
    return pd.DataFrame(
        {
            "r_score": ntile(-rfm["recency_days"], 5),
            "f_score": ntile(rfm["frequency"], 5),
            "m_score": ntile(rfm["monetary_total"], 5),
        },
        index=rfm.index,
    )


def rfm_groups(rfm: pd.DataFrame, k: int, *, method: str = "kmeans", random_state: int = 0) -> pd.Series:
    """RFM quintile scores grouped into ``k`` groups (see the module docstring for ``method``)."""
    scores = rfm_scores(rfm)
    k = max(1, min(k, len(scores)))
    if method == "kmeans":
        distinct = len(scores.drop_duplicates())
        model = KMeans(n_clusters=min(k, distinct), n_init=10, random_state=random_state)
        return pd.Series(model.fit_predict(scores.to_numpy(dtype="float64")), index=rfm.index, name="rfm_group")
    if method == "sum":
        return ntile(scores.sum(axis=1), k).rename("rfm_group")
    raise ShopsegError(f"Unknown RFM grouping '{method}'; use 'kmeans' or 'sum'.")


def predictive_validity(labels: pd.Series, outcomes: pd.DataFrame, *, random_state: int = 0) -> pd.DataFrame:
    """Eta squared of holdout spend and churn for ``labels`` and for RFM groups of the same size.

    ``labels``: segment per customer (index customer_id), fitted on the calibration period.
    ``outcomes``: index customer_id with the calibration RFM columns (:data:`RFM_COLUMNS`),
    ``spend_holdout`` and ``churn`` (e.g. :attr:`ValueResult.outcomes`). Customers in both
    are scored. Returns one row per grouping (segments, rfm_kmeans, rfm_score_sum) with
    columns groups, customers, eta2_holdout_spend, eta2_holdout_churn.
    """
    common = outcomes.index.intersection(labels.index)
    if len(common) == 0:
        raise ShopsegError("No customer has both a segment label and holdout outcomes.")
    data = outcomes.loc[common]
    segment = labels.loc[common]
    k = int(segment.nunique())
    groupings = {
        "segments": segment,
        "rfm_kmeans": rfm_groups(data, k, method="kmeans", random_state=random_state),
        "rfm_score_sum": rfm_groups(data, k, method="sum"),
    }
    rows = [
        {
            "grouping": name,
            "groups": int(pd.Series(group).nunique()),
            "customers": len(common),
            "eta2_holdout_spend": eta_squared(data["spend_holdout"], group),
            "eta2_holdout_churn": eta_squared(data["churn"].astype("float64"), group),
        }
        for name, group in groupings.items()
    ]
    return pd.DataFrame(rows).set_index("grouping")
