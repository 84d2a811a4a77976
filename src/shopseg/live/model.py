"""A served run, ready to update one customer in about a millisecond: what the real-time endpoint calls.

:class:`LiveModel` is built once per served run (:meth:`LiveModel.build`): the customers'
histories (:class:`~shopseg.live.history.History`), the run's text vectors
(:class:`~shopseg.live.text.TextIndex`), and the fitted model's arrays: the scaler's centres,
scales and block factors, the fusion model, the centroids, the value stage's scorer
(value.json: the chosen transaction model, the spend model and the rate bound), and the ALS
product factors of its recommender. Then :meth:`LiveModel.update` takes one customer's new
lines and, with no model loading and no DuckDB or pandas on the way:

1. adds them to the customer's history (known customers: everything the run read; new
   customers: what they sent);
2. recomputes their features as of the day after their latest line (never before the run's
   own reference time; ``reference`` overrides), with the model's share priors and activity
   window (:func:`~shopseg.live.features.customer_features`, which equals
   ``build_features``), and their taste, voice and browse vectors from the stored vectors;
3. scales, fuses and places them on the centroids (the segment), scores their value from
   their purchase days with the run's value scorer (CLV over the run's horizon, P(alive),
   expected orders, churn risk as the transaction model's probability of no order in the
   run's prediction window; a churn classifier, when the run used one, is not kept), and
   folds them into the ALS product factors (the same least-squares solve as ``implicit``'s
   ``recalculate_user``) for the top products they have not bought.

Memory: the run's order lines, reviews and events as arrays (about 100 bytes a line) and its
text vectors (1.5 kB each for MiniLM).
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shopseg import schema as s
from shopseg.cluster.base import UNASSIGNED
from shopseg.embed.registry import get_encoder
from shopseg.export.value_files import VALUE_JSON
from shopseg.features.categories import _column_name
from shopseg.live.features import Activity, Lines, customer_features
from shopseg.live.history import NO_ROW, ActivityRows, History, OrderRows, activity_rows, group_slices, order_rows
from shopseg.live.text import TextIndex, pooled
from shopseg.run_data import RunData
from shopseg.store import read_store_shop
from shopseg.value.customer_value import ValueScorer

DAY = 86_400.0
SUMMARY = ("recency_days", "frequency", "monetary_total", "monetary_mean", "return_rate")


@dataclass
class FastScaler:
    """:class:`~shopseg.cluster.scaling.BlockScaler` as arrays, for one row given as a dict."""

    blocks: list[dict[str, Any]]
    evidence_column: str

    @classmethod
    def of(cls, scaler: Any) -> FastScaler:
        blocks = []
        for name, columns in scaler.block_columns_.items():
            factor = scaler.block_factor_[name]
            if name in scaler.numeric_:
                numeric = scaler.numeric_[name]
                blocks.append(
                    {
                        "columns": list(numeric.columns_),
                        "log": np.array(numeric.log_, dtype=bool),
                        "centre": np.array(numeric.center_),
                        "scale": np.array(numeric.scale_),
                        "clip": float(numeric.clip),
                        "factor": factor,
                    }
                )
            else:
                blocks.append(
                    {
                        "columns": list(columns),
                        "mean": np.array(scaler.share_mean_[name]),
                        "scale": float(scaler.share_scale_[name]),
                        "pseudo": float(scaler.share_shrinkage.get(name, 0.0)),
                        "factor": factor,
                    }
                )
        return cls(blocks, scaler.evidence_column)

    def transform(self, features: dict[str, float]) -> np.ndarray:
        parts = []
        for block in self.blocks:
            values = np.array([features.get(c, 0.0) for c in block["columns"]], dtype="float64")
            if "log" in block:
                values[block["log"]] = np.log1p(np.clip(values[block["log"]], 0, None))
                scaled = np.clip((values - block["centre"]) / block["scale"], -block["clip"], block["clip"])
            else:
                trust = 1.0
                if block["pseudo"] > 0 and self.evidence_column in features:
                    orders = max(features[self.evidence_column], 0.0)
                    trust = orders / (orders + block["pseudo"])
                scaled = trust * (values - block["mean"]) / block["scale"]
            parts.append(scaled * block["factor"])
        return np.concatenate(parts)[None, :] if parts else np.zeros((1, 0))


@dataclass
class FastFuser:
    """:class:`~shopseg.represent.Fuser`'s transform for one customer: block normalisation as arrays, the reducer.

    The behaviour row is split into the fuser's feature blocks (behaviour, habits,
    categories, engagement, ... in the scaler's column order), each normalised on its own.
    """

    blocks: list[tuple[str, bool, np.ndarray, np.ndarray, float]]  # name, is text, mean, column scale, factor
    shrinkage: float
    reducer: Any
    layout: list[tuple[str, int]]  # the behaviour row's feature blocks: (name, number of columns)

    @classmethod
    def of(cls, fuser: Any) -> FastFuser | None:
        if fuser is None:
            return None
        normaliser = fuser.normaliser_
        blocks = [
            (
                name,
                bool(normaliser.text_[name]),
                np.asarray(normaliser.mean_[name], dtype="float64"),
                np.asarray(normaliser.column_scale_[name], dtype="float64"),
                float(normaliser.factor_[name]),
            )
            for name in normaliser.blocks_
        ]
        names = fuser._feature_names()
        if fuser.feature_blocks:
            layout = [(name, int(width)) for name, width in zip(names, fuser.feature_blocks.values(), strict=True)]
        else:
            layout = [(names[0], -1)]  # one block: the whole row
        return cls(blocks, float(normaliser.shrinkage), fuser.reducer_, layout)

    def _feature_parts(self, row: np.ndarray) -> dict[str, np.ndarray]:
        if len(self.layout) == 1 and self.layout[0][1] < 0:
            return {self.layout[0][0]: row}
        parts, start = {}, 0
        for name, width in self.layout:
            parts[name] = row[start : start + width]
            start += width
        return parts

    def transform(self, behaviour: np.ndarray, blocks: dict[str, np.ndarray], evidence: dict[str, float]) -> np.ndarray:
        features = self._feature_parts(behaviour[0])
        parts = []
        for name, is_text, mean, scale, factor in self.blocks:
            if name in features:
                parts.append(factor * (features[name] - mean) / scale)
            elif name not in blocks:
                parts.append(np.zeros(len(mean)))
            elif is_text:
                count = evidence.get(name, 0.0)
                trust = (count / (count + self.shrinkage) if self.shrinkage > 0 else 1.0) if count > 0 else 0.0
                parts.append(factor * trust * (blocks[name] - mean))
            else:
                parts.append(factor * (blocks[name] - mean) / scale)
        row = np.concatenate(parts)[None, :]
        return row if self.reducer is None else self.reducer.transform(row)


@dataclass
class ValueModels:
    """The run's value scorer (value.json ``scorer``: the chosen transaction model, the spend model, the bound).

    Scores one customer with :meth:`~shopseg.value.ValueScorer.predict_arrays` on one-element
    arrays, so a customer gets the numbers the batch scorer would give them; the 90% intervals
    (parameter draws) and the next order date are left out of the real-time answer. Churn
    and high-value classifiers are not saved with a run (no pickle): where the run used one
    for a column, ``classifier_columns`` names it and the live answer gives the transaction
    model's number instead (the response says so).
    """

    scorer: ValueScorer
    classifier_columns: list[str]

    @property
    def horizon_days(self) -> int:
        return self.scorer.horizon_days

    @classmethod
    def of(cls, run_dir: Path) -> ValueModels | None:
        path = run_dir / VALUE_JSON
        if not path.is_file():
            return None
        report = json.loads(path.read_text(encoding="utf-8"))
        state = report.get("scorer") if report.get("available") else None
        if not state:
            return None
        return cls(ValueScorer.from_dict(state), list(state.get("classifier_columns") or []))

    def score(self, lines: Lines, reference: float) -> dict[str, float] | None:
        """CLV, P(alive), expected orders, churn risk and high-value probability of one customer.

        Purchase days (returns excluded, several orders on a day = one purchase whose spend is
        their sum) up to the day before ``reference``, summarised as the value stage does
        (:mod:`shopseg.value.summary`, days as the unit), then the scorer's formulas.
        """
        spend_by_day: dict[int, float] = {}
        for moment, amount, returned in zip(
            lines.seconds.tolist(), lines.amount.tolist(), lines.is_return.tolist(), strict=True
        ):
            if not returned:
                day = math.floor(moment / DAY)
                spend_by_day[day] = spend_by_day.get(day, 0.0) + amount
        last_day = math.floor(reference / DAY) - 1  # the last observed day
        days = sorted(day for day in spend_by_day if day <= last_day)
        if not days:
            return None
        x, t_x, age = float(len(days) - 1), float(days[-1] - days[0]), float(last_day - days[0])
        day_spend = [spend_by_day[day] for day in days]
        repeat = day_spend[1:]
        spend = self.scorer.spend.spend_from_stats(
            np.array([x]),
            np.array([math.fsum(repeat) / len(repeat) if repeat else 0.0]),  # mean repeat spend (Gamma-Gamma)
            np.array([float(len(day_spend))]),  # purchase days and their mean spend (shrunk mean)
            np.array([math.fsum(day_spend) / len(day_spend)]),
        )
        columns, _ = self.scorer.predict_arrays(
            np.array([x]), np.array([t_x]), np.array([age]), np.asarray(spend, dtype="float64"), intervals=False
        )
        return {name: round(float(values[0]), 6) for name, values in columns.items()}


@dataclass
class FoldIn:
    """ALS product factors and the solve of one customer's factors (``implicit``'s least squares)."""

    product_ids: np.ndarray
    factors: np.ndarray
    column: dict[str, int]
    gram: np.ndarray
    regularization: float
    alpha: float

    @classmethod
    def of(cls, model: Any) -> FoldIn | None:
        if model is None or len(model.product_ids_) == 0:
            return None
        factors = np.asarray(model.product_factors_, dtype=np.float64)
        return cls(
            product_ids=np.asarray(model.product_ids_, dtype=object),
            factors=factors,
            column={str(p): i for i, p in enumerate(model.product_ids_)},
            gram=factors.T @ factors,
            regularization=float(model.settings.regularization),
            alpha=float(model.settings.alpha),
        )

    def recommend(self, lines: Lines, n: int) -> list[tuple[str, float]]:
        """Top ``n`` (product id, score) not bought, from the customer's purchase lines of known products."""
        counts: dict[int, int] = {}
        for product, returned in zip(lines.product, lines.is_return, strict=True):
            column = self.column.get(product) if product is not None and not returned else None
            if column is not None:
                counts[column] = counts.get(column, 0) + 1
        if not counts:
            return []
        items = np.fromiter(counts, dtype=np.int64)
        confidence = self.alpha * np.log1p(np.fromiter(counts.values(), dtype=np.float64)).astype(np.float32)
        y = self.factors[items]
        matrix = self.gram + self.regularization * np.eye(len(self.gram)) + (y.T * (confidence - 1.0)) @ y
        user = np.linalg.solve(matrix, y.T @ confidence)
        scores = self.factors @ user
        scores[items] = -np.inf
        keep = min(n, int(np.isfinite(scores).sum()))
        if keep < 1:
            return []
        best = np.argpartition(-scores, keep - 1)[:keep]
        best = best[np.lexsort((best, -scores[best]))]
        return [(str(self.product_ids[i]), float(scores[i])) for i in best]


@dataclass
class LiveModel:
    """See the module docstring; build with :meth:`build`, call :meth:`update`."""

    run: RunData
    history: History
    scaler: FastScaler
    fuser: FastFuser | None
    text: TextIndex | None
    value: ValueModels | None
    fold_in: FoldIn | None
    category_of_product: dict[str, str]
    reference: float | None
    has_quantity: bool
    shape: Activity | None = None
    live_segments: dict[str, int] = field(default_factory=dict)
    run_segments: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def build(cls, run: RunData) -> LiveModel:
        """Everything :meth:`update` needs, from a loaded run and its store (read once)."""
        model = run.segmenter
        shop = read_store_shop(run.store_path) if run.store_path.is_file() else None
        if shop is None or shop.orders is None:
            raise FileNotFoundError(f"{run.run_dir}: no shopseg.duckdb with the run's order lines")
        products = shop.products
        category_of_product: dict[str, str] = {}
        if products is not None and s.CATEGORY in products:
            named = products.dropna(subset=[s.CATEGORY])
            category_of_product = {
                str(p): _column_name(c) for p, c in zip(named[s.PRODUCT_ID], named[s.CATEGORY], strict=True)
            }
        text = None
        if model.fuser_ is not None and model.text_model_id_:
            encoder_name = model.text_encoder_
            holder: dict[str, Any] = {}
            lock = threading.Lock()

            def encoder() -> Any:
                with lock:
                    if "encoder" not in holder:
                        holder["encoder"] = get_encoder(encoder_name)
                    return holder["encoder"]

            text = TextIndex.from_store(str(run.store_path), model.text_model_id_, products, shop.orders, encoder)
        live = cls(
            run=run,
            history=None,  # type: ignore[arg-type]  # set below (needs the category and text lookups)
            scaler=FastScaler.of(model.scaler_),
            fuser=FastFuser.of(model.fuser_),
            text=text,
            value=ValueModels.of(run.run_dir),
            fold_in=FoldIn.of(run.fold_in),
            category_of_product=category_of_product,
            reference=run.reference_ts.timestamp() if run.reference_ts is not None else None,
            has_quantity=s.QUANTITY in shop.orders,
        )
        live.history = live._history(shop)
        live.run_segments = dict(
            zip(run.segments.index.astype(str), run.segments[s.SEGMENT_ID].astype("int64").tolist(), strict=True)
        )
        return live

    # --- lookups shared by the stored and the posted lines ---------------------------------
    def _categories(self, products: np.ndarray) -> np.ndarray:
        get = self.category_of_product.get
        return np.array([get(p) if p is not None else None for p in products], dtype=object)

    def _product_rows(self, products: np.ndarray) -> np.ndarray:
        return self.text.products(products) if self.text is not None else np.full(len(products), NO_ROW)

    def _text_rows(self, texts: np.ndarray) -> np.ndarray:
        return self.text.texts(texts) if self.text is not None else np.full(len(texts), NO_ROW)

    def _shape(self, shop_reviews: pd.DataFrame | None, shop_events: pd.DataFrame | None) -> Activity:
        empty = np.zeros(0)
        return Activity(
            empty,
            empty,
            empty,
            empty,
            empty,
            has_sessions=shop_events is not None and s.SESSION_ID in shop_events,
            has_ratings=shop_reviews is not None and s.RATING in shop_reviews,
        )

    def _history(self, shop: Any) -> History:
        def by_customer(table: pd.DataFrame | None) -> pd.DataFrame | None:
            if table is None:
                return None
            table = table.assign(**{s.CUSTOMER_ID: table[s.CUSTOMER_ID].astype(str)})
            return table.sort_values([s.CUSTOMER_ID, s.TS], kind="stable").reset_index(drop=True)

        orders, reviews, events = (by_customer(t) for t in (shop.orders, shop.reviews, shop.events))
        self.shape = self._shape(shop.reviews, shop.events)
        rows = order_rows(orders, self._categories, self._product_rows)
        review_part = activity_rows(reviews, None, self._text_rows, self._product_rows, self._text_rows, self.shape)
        event_part = activity_rows(None, events, self._text_rows, self._product_rows, self._text_rows, self.shape)
        return History(
            orders=rows,
            order_slices=group_slices(orders[s.CUSTOMER_ID]),
            reviews=review_part,
            review_slices=group_slices(reviews[s.CUSTOMER_ID]) if reviews is not None else {},
            events=event_part,
            event_slices=group_slices(events[s.CUSTOMER_ID]) if events is not None else {},
        )

    # --- posted lines as rows ---------------------------------------------------------------
    def rows_of(
        self, orders: list[dict[str, Any]], reviews: list[dict[str, Any]], events: list[dict[str, Any]]
    ) -> tuple[OrderRows, ActivityRows]:
        """Checked lines (:func:`~shopseg.live.lines.check_lines`) as history rows."""
        products = np.array([o[s.PRODUCT_ID] for o in orders], dtype=object)
        units = [o[s.QUANTITY] if o[s.QUANTITY] is not None else 1.0 for o in orders]
        lines = Lines(
            seconds=np.array([o[s.TS] for o in orders], dtype="float64"),
            order=np.array([o[s.ORDER_ID] for o in orders], dtype=object),
            amount=np.array([o[s.AMOUNT] for o in orders], dtype="float64"),
            units=np.array(units if self.has_quantity else [1.0] * len(orders), dtype="float64"),
            product=products,
            is_return=np.array([o[s.IS_RETURN] for o in orders], dtype=bool),
            category=self._categories(products),
        )
        event_products = np.array([e[s.PRODUCT_ID] for e in events], dtype=object)
        kinds = np.array([e[s.EVENT_TYPE] for e in events], dtype=object)
        viewed = np.array([k in _BROWSE for k in kinds], dtype=bool)
        searched = self._text_rows(np.array([e[s.QUERY] for e in events], dtype=object))
        browse = np.where(searched >= 0, searched, np.where(viewed, self._product_rows(event_products), NO_ROW))
        activity = ActivityRows(
            Activity(
                review_seconds=np.array([r[s.TS] for r in reviews], dtype="float64"),
                ratings=np.array([r[s.RATING] for r in reviews], dtype="float64"),
                event_seconds=np.array([e[s.TS] for e in events], dtype="float64"),
                event_kinds=kinds,
                sessions=np.array([e[s.SESSION_ID] for e in events], dtype=object),
                has_sessions=self.shape.has_sessions,
                has_ratings=self.shape.has_ratings,
            ),
            self._text_rows(np.array([r[s.TEXT] for r in reviews], dtype=object)),
            browse.astype("int64"),
        )
        return OrderRows(lines, self._product_rows(products)), activity

    # --- the update ---------------------------------------------------------------------------
    def update(
        self,
        customer_id: str,
        orders: OrderRows,
        activity: ActivityRows,
        *,
        reference: float | None = None,
        recommend_n: int = 10,
        keep: bool = True,
    ) -> dict[str, Any]:
        """The customer's segment, scores and recommendations after adding the posted rows; see the module docstring."""
        before, earlier = self.history.parts(customer_id)
        known = any(len(part.lines) for part in before)
        history = OrderRows.concatenate([*before, orders])
        everything = ActivityRows.concatenate([*earlier, activity])
        if not len(history.lines):
            return {"error": "no order lines: a customer needs at least one order line to be placed"}
        if reference is None:  # the day after their latest order line, as a shop's default reference
            reference = (np.floor(float(history.lines.seconds.max()) / DAY) + 1) * DAY
            if self.reference is not None:
                reference = max(reference, self.reference)
        model = self.run.segmenter
        priors = model.features_.priors or {}
        features, start = customer_features(
            history.lines, everything.activity, reference=reference, priors=priors, window_days=model.window_days
        )
        matrix = self.scaler.transform(features)
        if self.fuser is not None:
            blocks, evidence = self._text_blocks(history, everything, start)
            matrix = self.fuser.transform(matrix, blocks, evidence)
        segment = self._segment(matrix)
        with self._lock:
            previous = self.live_segments.get(customer_id, self.run_segments.get(customer_id))
            if keep:
                self.live_segments[customer_id] = segment
        if keep:
            self.history.add(customer_id, orders, activity)
        result: dict[str, Any] = {
            "known_customer": known,
            "segment_id": segment,
            "previous_segment_id": previous,
            "reference": reference,
            "features": {c: round(float(features.get(c, 0.0)), 6) for c in SUMMARY},
            "scores": self.value.score(history.lines, reference) if self.value is not None else None,
            "recommendations": None,
        }
        if self.fold_in is not None and recommend_n > 0:
            result["recommendations"] = self.fold_in.recommend(history.lines, recommend_n)
        return result

    def _segment(self, matrix: np.ndarray) -> int:
        model = self.run.segmenter
        clusterer = model.clusterer_
        if getattr(clusterer, "kind", "") == "kmeans":
            raw = int(((clusterer.centroids_ - matrix) ** 2).sum(axis=1).argmin())
        else:
            raw = int(clusterer.predict(matrix)[0])
        return int(model.segment_map_.get(raw, raw)) if raw >= 0 else UNASSIGNED

    def _text_blocks(
        self, orders: OrderRows, activity: ActivityRows, start: float | None
    ) -> tuple[dict[str, np.ndarray], dict[str, float]]:
        """Taste, voice and browse vectors of one customer (their activity window), and the items behind each."""
        if self.text is None:
            return {}, {}
        vectors = self.text.vectors
        lines, rows = orders.lines, orders.text_row
        a = activity.activity
        in_window = (lambda t: t >= start) if start is not None else (lambda t: np.ones(len(t), dtype=bool))
        bought = ~lines.is_return & in_window(lines.seconds)
        weights = np.log1p(np.clip(np.nan_to_num(lines.amount[bought]), 0.0, None)) + 1e-6
        blocks, evidence = {}, {}
        for name, (vector, count) in {
            "taste": pooled(vectors, rows[bought], weights),
            "voice": pooled(vectors, activity.review_row[in_window(a.review_seconds)]),
            "browse": pooled(vectors, activity.browse_row[in_window(a.event_seconds)]),
        }.items():
            blocks[name], evidence[name] = vector.astype("float64"), count
        return blocks, evidence


_BROWSE = frozenset({"view", "page_view", "product_view", "detail"})
