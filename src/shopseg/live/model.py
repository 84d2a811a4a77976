"""A served run, ready to update one customer in about a millisecond: what the real-time endpoint calls.

:class:`LiveModel` is built once per served run (:meth:`LiveModel.build`): the customers'
histories (:class:`~shopseg.live.history.History`), the run's text vectors
(:class:`~shopseg.live.text.TextIndex`), and the fitted model's arrays: the scaler's centres,
scales and block factors, the fusion model, the centroids, the BG/NBD and Gamma-Gamma
parameters of the run's value stage, and the ALS product factors of its recommender. Then
:meth:`LiveModel.update` takes one customer's new lines and, with no model loading and no
DuckDB or pandas on the way:

1. adds them to the customer's history (known customers: everything the run read; new
   customers: what they sent);
2. recomputes their features as of the day after their latest line (never before the run's
   own reference time; ``reference`` overrides), with the model's share priors and activity
   window (:func:`~shopseg.live.features.customer_features`, which equals
   ``build_features``), and their taste, voice and browse vectors from the stored vectors;
3. scales, fuses and places them on the centroids (the segment), scores their value from
   their purchase days (CLV over the run's horizon, P(alive), expected orders, churn risk
   as BG/NBD's probability of no purchase in the run's prediction window: the run's
   gradient-boosted churn classifier is not kept), and folds them into the ALS product
   factors (the same least-squares solve as ``implicit``'s ``recalculate_user``) for the top
   products they have not bought.

Memory: the run's order lines, reviews and events as arrays (about 100 bytes a line) and its
text vectors (1.5 kB each for MiniLM).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from shopseg import schema as s
from shopseg.cluster.base import UNASSIGNED
from shopseg.embed.registry import get_encoder
from shopseg.features.categories import _column_name
from shopseg.live.features import Activity, Lines, customer_features
from shopseg.live.history import NO_ROW, ActivityRows, History, OrderRows, activity_rows, group_slices, order_rows
from shopseg.live.text import TextIndex, pooled
from shopseg.run_data import RunData
from shopseg.store import read_store_shop
from shopseg.value.bgnbd import BetaGeoModel
from shopseg.value.clv import customer_lifetime_value
from shopseg.value.gamma_gamma import GammaGammaModel

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
class ValueModels:
    """The run's BG/NBD and Gamma-Gamma parameters and horizons (from run.json)."""

    bgnbd: BetaGeoModel
    gamma_gamma: GammaGammaModel | None
    horizon_days: int
    discount_rate: float
    window_days: float

    @classmethod
    def of(cls, record: dict[str, Any]) -> ValueModels | None:
        value = record.get("value") or {}
        if not value.get("available") or not value.get("bgnbd"):
            return None
        return cls(
            bgnbd=BetaGeoModel.from_dict(value["bgnbd"]),
            gamma_gamma=GammaGammaModel.from_dict(value["gamma_gamma"]) if value.get("gamma_gamma") else None,
            horizon_days=int(value.get("horizon_days", 365)),
            discount_rate=float(value.get("discount_rate_monthly", 0.01)),
            window_days=float(value.get("prediction_window_days") or value.get("horizon_days", 365)),
        )

    def score(self, lines: Lines, reference: float) -> dict[str, float] | None:
        """CLV, P(alive), expected orders and churn risk of one customer's purchase days as of ``reference``."""
        purchase = ~lines.is_return
        if not purchase.any():
            return None
        day = np.floor(lines.seconds[purchase] / DAY)
        days, index = np.unique(day, return_inverse=True)
        spend = np.bincount(index, weights=lines.amount[purchase])
        last_day = np.floor(reference / DAY) - 1  # the last observed day
        keep = days <= last_day
        days, spend = days[keep], spend[keep]
        if not len(days):
            return None
        x = np.array([len(days) - 1.0])
        t_x, age = np.array([days[-1] - days[0]]), np.array([last_day - days[0]])
        monetary = np.array([spend[1:].mean() if len(days) > 1 else 0.0])
        if self.gamma_gamma is not None:
            expected = self.gamma_gamma.conditional_expected_average_spend(x, monetary)
        else:
            expected = np.array([spend.mean()])
        clv = customer_lifetime_value(
            self.bgnbd, x, t_x, age, expected, horizon_days=self.horizon_days, discount_rate=self.discount_rate
        )
        return {
            "clv": round(float(clv[0]), 4),
            "p_alive": round(float(self.bgnbd.p_alive(x, t_x, age)[0]), 6),
            f"expected_orders_{self.horizon_days}d": round(
                float(self.bgnbd.conditional_expected_purchases(self.horizon_days, x, t_x, age)[0]), 6
            ),
            "churn_risk": round(float(self.bgnbd.p_no_purchase(self.window_days, x, t_x, age)[0]), 6),
        }


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
    text: TextIndex | None
    value: ValueModels | None
    fold_in: FoldIn | None
    category_of_product: dict[str, str]
    reference: float | None
    has_quantity: bool
    shape: Activity | None = None
    live_segments: dict[str, int] = field(default_factory=dict)
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
            text=text,
            value=ValueModels.of(run.record),
            fold_in=FoldIn.of(run.fold_in),
            category_of_product=category_of_product,
            reference=run.reference_ts.timestamp() if run.reference_ts is not None else None,
            has_quantity=s.QUANTITY in shop.orders,
        )
        live.history = live._history(shop)
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
        before, earlier = self.history.customer(customer_id)
        known = len(before.lines) > 0
        history = OrderRows.concatenate([before, orders])
        everything = ActivityRows.concatenate([earlier, activity])
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
        if model.fuser_ is not None:
            blocks, evidence = self._text_blocks(history, everything, start)
            matrix = model.fuser_.transform(matrix, blocks, evidence)
        segment = self._segment(matrix)
        with self._lock:
            previous = self.live_segments.get(customer_id)
            if previous is None and customer_id in self.run.segments.index:
                previous = int(self.run.segments.at[customer_id, s.SEGMENT_ID])
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
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Taste, voice and browse vectors of one customer (their activity window), as 1-row blocks."""
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
            blocks[name] = vector[None, :]
            evidence[name] = np.array([count])
        return blocks, evidence


_BROWSE = frozenset({"view", "page_view", "product_view", "detail"})
