"""How well segments recover a generated shop's planted segments (its ``truth`` table).

``shopseg demo`` prints this after segmenting the shop it generated: the adjusted Rand index
(ARI: 1 = the same partition, about 0 = no better than chance; it does not care how segments
are numbered or named) and, per planted segment, the published segment most of its customers
landed in. Pure: two tables in, numbers and a table out.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sklearn.metrics import adjusted_rand_score

from shopseg import schema as s
from shopseg.generate.shop import SEGMENT


@dataclass
class TruthAgreement:
    """``ari`` over the customers in both tables; ``customers`` how many; ``table`` one row per
    planted segment: ``planted``, ``customers``, ``segment_id``, ``segment_name`` (where most
    of them are), ``share`` (of the planted segment in it)."""

    ari: float
    customers: int
    table: pd.DataFrame


def agreement_with_truth(assignments: pd.DataFrame, truth: pd.DataFrame) -> TruthAgreement:
    """Compare ``assignments`` (customer_id, segment_id, segment_name) with ``truth`` (customer_id, segment)."""
    left = assignments[[s.CUSTOMER_ID, s.SEGMENT_ID, s.SEGMENT_NAME]].astype({s.CUSTOMER_ID: str})
    merged = left.merge(truth[[s.CUSTOMER_ID, SEGMENT]].astype({s.CUSTOMER_ID: str}), on=s.CUSTOMER_ID)
    if merged.empty:
        return TruthAgreement(ari=float("nan"), customers=0, table=pd.DataFrame())
    ari = float(adjusted_rand_score(merged[SEGMENT], merged[s.SEGMENT_ID]))
    counts = merged.groupby([SEGMENT, s.SEGMENT_ID, s.SEGMENT_NAME]).size().rename("n").reset_index()
    sizes = merged.groupby(SEGMENT).size()
    main = counts.sort_values(["n", s.SEGMENT_ID], ascending=[False, True]).drop_duplicates(SEGMENT)
    table = pd.DataFrame(
        {
            "planted": main[SEGMENT].to_numpy(),
            "customers": sizes.reindex(main[SEGMENT]).to_numpy(),
            s.SEGMENT_ID: main[s.SEGMENT_ID].to_numpy(),
            s.SEGMENT_NAME: main[s.SEGMENT_NAME].to_numpy(),
            "share": (main["n"] / sizes.reindex(main[SEGMENT]).to_numpy()).round(4).to_numpy(),
        }
    ).sort_values("customers", ascending=False, kind="stable")
    return TruthAgreement(ari=ari, customers=len(merged), table=table.reset_index(drop=True))
