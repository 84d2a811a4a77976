"""Place new customers into a saved run's segments without refitting: what ``shopseg assign`` does.

``assign_customers(run_dir, shop)`` loads the fitted model of a run folder
(:meth:`Segmenter.load <shopseg.pipeline.Segmenter.load>`), builds the new customers'
features *as of the run's reference time* (so "days since last order" means the same as in
the fitted run, however old the new file is), scales them with the saved scaler, embeds and
fuses their text with the saved encoder and fusion model when the run used text
(:meth:`Segmenter.represent <shopseg.pipeline.Segmenter.represent>`) and asks the saved
clusterer for their segments. Nothing is refitted; the same function backs the
CLI and the API.

The returned table has one row per customer of ``shop``: ``customer_id``, ``segment_id``
(``-1`` = unassigned, when the run's algorithm leaves noise out) and ``segment_name``; plus
``sub_segment_id`` when the model has a two-level split (``segmenter.sub_segmenter_``, a
:class:`~shopseg.cluster.SubSegmenter`) and ``map_x`` / ``map_y`` when it has a map
(``segmenter.map_``, a :class:`~shopseg.cluster.CustomerMap`).

``recommend_new_customers(run_dir, shop)`` recommends products to the same new customers when
the run saved ALS factors (``model/fold_in/``, written when recommendations were on): each
customer's purchases are folded in and their top products not yet bought come back
(:class:`~shopseg.recommend.fold_in.FoldInALS`), as ``POST /assign`` of the API does.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from shopseg import schema as s
from shopseg.cluster.base import UNASSIGNED, UNASSIGNED_NAME
from shopseg.errors import ShopsegError
from shopseg.features import build_features
from shopseg.pipeline import Segmenter
from shopseg.shop import Shop


def saved_reference_ts(run_dir: str | Path) -> pd.Timestamp | None:
    """The reference time (the "now" of recency) recorded in a run's ``model.json``, if any."""
    folder = Path(run_dir)
    path = next((p for p in (folder / "model" / "model.json", folder / "model.json") if p.exists()), None)
    if path is None:
        raise ShopsegError(f"{folder}: no model.json here; point to a run folder written by 'shopseg segment'.")
    value = json.loads(path.read_text()).get("reference_ts")
    return pd.Timestamp(value) if value else None


def assign_customers(
    run_dir: str | Path,
    shop: Shop,
    *,
    segmenter: Segmenter | None = None,
    reference_ts: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Segment of every customer of ``shop`` under the model saved in ``run_dir`` (no refit).

    ``segmenter`` may pass an already loaded model (the API keeps one in memory); by default
    it is loaded from ``run_dir``. ``reference_ts`` measures the features from another "now"
    than the run's (``shopseg assign --as-of``). Returns ``customer_id``, ``segment_id``,
    ``segment_name``.
    """
    model = segmenter if segmenter is not None else Segmenter.load(run_dir)
    reference, priors = model.feature_context_
    if reference_ts is not None:
        reference = reference_ts
    elif reference is None:
        reference = saved_reference_ts(run_dir)
    features = build_features(shop, reference, priors=priors, window_days=model.window_days, test_habits=False).frame
    if features.empty:
        raise ShopsegError("No customers to assign: the new files have no customer with an order or a record.")
    matrix = model.represent(features, shop, reference_ts=reference)
    ids = pd.Series(model.segments_of(matrix), index=features.index)
    names = {**model.segment_names_, UNASSIGNED: UNASSIGNED_NAME}
    table = pd.DataFrame(
        {
            s.CUSTOMER_ID: ids.index.astype(str),
            s.SEGMENT_ID: ids.to_numpy().astype("int64"),
            s.SEGMENT_NAME: ids.map(names).to_numpy(),
        }
    )
    if model.sub_segmenter_ is not None:
        table["sub_segment_id"] = model.sub_segmenter_.predict(matrix, table[s.SEGMENT_ID].to_numpy())
        table["sub_segment_name"] = table["sub_segment_id"].map(model.sub_segment_names())
    if model.map_ is not None:
        coordinates = model.map_.transform(matrix)
        table["map_x"], table["map_y"] = coordinates[:, 0], coordinates[:, 1]
    return table


def recommend_new_customers(run_dir: str | Path, shop: Shop, n: int = 10) -> pd.DataFrame | None:
    """Top ``n`` unbought products per new customer from the run's saved ALS factors; None without them.

    None when the run has no ``model/fold_in/`` (recommendations were off) or the ``implicit``
    package is not installed here, or the new files have no order lines.
    """
    from shopseg.export.recommendations import FOLD_IN_FOLDER
    from shopseg.recommend.als import implicit_available
    from shopseg.recommend.fold_in import FoldInALS

    folder = Path(run_dir) / FOLD_IN_FOLDER
    if not folder.is_dir() or not implicit_available() or shop.orders is None or shop.orders.empty:
        return None
    return FoldInALS.load(folder).recommend(shop.orders, n=n)
