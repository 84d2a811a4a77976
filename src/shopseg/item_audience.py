"""Item-affinity audiences of a saved run: what ``shopseg audience --item`` does.

``item_audience(run_dir, product_id, top)`` loads the recommender a run saved under
``model/recommend/`` (JSON + npz, see :mod:`shopseg.recommend.persist`) and asks it which
customers are most likely to buy ``product_id``
(:func:`~shopseg.recommend.audience.audience_for_item`: customers who bought it in the last
90 days and customers without any history are left out). Each customer's segment comes from
the run's ``segments.parquet``. Nothing is refitted; ids are the run's (pseudonyms in a
pseudonymised run).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shopseg import schema as s
from shopseg.errors import ShopsegError
from shopseg.export.recommendations import MODEL_FOLDER
from shopseg.recommend import audience_for_item, load_recommender
from shopseg.recommend.persist import MANIFEST

#: Columns of an item audience, in order.
COLUMNS = ("rank", s.CUSTOMER_ID, "score", s.SEGMENT_ID, s.SEGMENT_NAME)


def item_audience(run_dir: str | Path, product_id: str, top: int = 500) -> pd.DataFrame:
    """rank, customer_id, score, segment_id, segment_name: the ``top`` customers for ``product_id``, best first.

    Raises :class:`~shopseg.errors.ShopsegError` when the run has no saved recommender or the
    product is unknown to it (the message names the product).
    """
    run_dir = Path(run_dir)
    folder = run_dir / MODEL_FOLDER
    if not (folder / MANIFEST).exists():
        if not (run_dir / "run.json").exists():
            raise ShopsegError(
                f"{run_dir}: not a shopseg run folder (no run.json). Point --run to the --out folder of "
                "'shopseg segment' or 'shopseg demo'."
            )
        raise ShopsegError(
            f"{run_dir}: this run has no saved recommender ({MODEL_FOLDER}/ is missing): it was segmented with "
            "--no-recommend, by an older shopseg, or its shop had nothing to recommend from (see run.json notes). "
            "Run 'shopseg segment' again without --no-recommend."
        )
    table = audience_for_item(load_recommender(folder), product_id, top=top)
    segments_path = run_dir / "segments.parquet"
    if segments_path.exists():
        segments = pd.read_parquet(segments_path, columns=[s.CUSTOMER_ID, s.SEGMENT_ID, s.SEGMENT_NAME])
        segments[s.CUSTOMER_ID] = segments[s.CUSTOMER_ID].astype(str)
        table = table.merge(segments, on=s.CUSTOMER_ID, how="left")
    else:
        table[s.SEGMENT_ID], table[s.SEGMENT_NAME] = pd.NA, pd.NA
    return table[list(COLUMNS)]
