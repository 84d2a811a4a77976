"""Agreement of segments with a generated shop's planted segments (what ``shopseg demo`` prints)."""

from __future__ import annotations

import pandas as pd
import pytest

from shopseg.generate import agreement_with_truth


def test_agreement_is_the_adjusted_rand_index_and_names_where_each_planted_segment_went() -> None:
    truth = pd.DataFrame({"customer_id": list("abcdef"), "segment": ["x", "x", "x", "y", "y", "z"]})
    assignments = pd.DataFrame(
        {
            "customer_id": list("abcdefg"),  # g is not in the truth: left out
            "segment_id": [5, 5, 5, 7, 7, 7, 9],
            "segment_name": ["Five"] * 3 + ["Seven"] * 3 + ["Nine"],
        }
    )
    agreement = agreement_with_truth(assignments, truth)
    assert agreement.customers == 6
    assert agreement.ari == pytest.approx(12 / 17)  # y and z merged; numbering does not matter
    rows = agreement.table.set_index("planted")
    assert rows.loc["x", "segment_name"] == "Five" and rows.loc["x", "share"] == 1.0
    assert rows.loc["z", "segment_id"] == 7 and rows.loc["y", "customers"] == 2
    relabelled = assignments.assign(segment_id=assignments["segment_id"].map({5: 0, 7: 1, 9: 2}))
    assert agreement_with_truth(relabelled, truth).ari == pytest.approx(agreement.ari)
