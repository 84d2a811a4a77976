"""Representative customers: the ones closest to their segment's centre.

Ids are whatever the run uses: pseudonymised when ``--pseudonymise`` is on.
"""

from __future__ import annotations

import numpy as np


def representatives(
    matrix: np.ndarray, labels: np.ndarray, customer_ids: np.ndarray, *, count: int = 3
) -> dict[int, list[str]]:
    """Per segment id: the ``count`` customer ids nearest to the segment's mean point."""
    result: dict[int, list[str]] = {}
    for segment in np.unique(labels):
        members = np.flatnonzero(labels == segment)
        centre = matrix[members].mean(axis=0)
        distances = ((matrix[members] - centre) ** 2).sum(axis=1)
        nearest = members[np.lexsort((customer_ids[members].astype(str), distances))[:count]]
        result[int(segment)] = [str(customer_ids[i]) for i in nearest]
    return result
