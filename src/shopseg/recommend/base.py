"""What every recommender is: ``fit`` on interactions, ``recommend`` ranked products with a reason.

A recommender is a scikit-learn style estimator: parameters in ``__init__`` (no work there),
``fit(interactions, *, products=None, segments=None, taste=None)`` learns and returns ``self``,
learned state ends in ``_``. ``recommend(customer_ids, n=10, exclude_bought=True)`` returns one
row per recommendation::

    customer_id  rank  product_id  score   reason
    C000017      1     P00042      0.734   bought with Summit Ridge Rain Jacket

Subclasses write three small methods: ``_fit`` (learn), ``_score`` (dense scores, customers x
products, for customers with history) and optionally ``_explain`` (a short reason per
recommended pair). This class does the rest, the same way for every model:

* **cold start** -- customers without history in the model, and customer ids it has never seen,
  get the popularity of their segment (when ``segments`` knew them) or of the shop, with the
  reason "popular in your segment" / "popular in the shop". Nothing crashes on an unknown id.
* **already bought** -- with ``exclude_bought`` a customer's purchased products are removed,
  except in repeat-purchase categories: the ``repeat_categories`` parameter names them, or
  ``None`` (the default) applies the data rule of
  :func:`~shopseg.recommend.interactions.repeat_categories`.
* **ties** -- broken by shop popularity (a 1e-6 nudge), then by product id, so rankings are
  deterministic and an uninformative score falls back to what sells.
* **batches** -- customers are scored in blocks of about 4 million cells, so memory stays
  bounded for any number of customers; there is no Python loop per customer.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopseg import schema as s
from shopseg.errors import ConfigError, ShopsegError
from shopseg.recommend.interactions import Interactions, build_interactions, repeat_categories

RANK, SCORE, REASON = "rank", "score", "reason"
RECOMMENDATION_COLUMNS = (s.CUSTOMER_ID, RANK, s.PRODUCT_ID, SCORE, REASON)
#: Dense score cells per batch (float32: 16 MB per matrix).
BATCH_CELLS = 4_000_000
#: Size of the popularity nudge that breaks ties (scores are compared, never shown, at this scale).
TIE_BREAK = 1e-6
#: Pseudo-customers of overall popularity mixed into each segment's popularity, so a segment of
#: five customers does not recommend whatever two of them happened to buy.
SEGMENT_PRIOR_CUSTOMERS = 10.0
#: Longest product title quoted in a reason.
TITLE_LENGTH = 60
POPULAR_IN_SHOP = "popular in the shop"
POPULAR_IN_SEGMENT = "popular in your segment"


#: Segments as known at a time: a function of the cut (None = all data) returning segment id per customer.
SegmentsAt = Callable[[pd.Timestamp | None], pd.Series | None]
#: What ``fit`` accepts as segments.
Segments = pd.Series | SegmentsAt | None


def resolve_segments(segments: Segments, data: Interactions) -> pd.Series | None:
    """``segments`` as a Series for ``data``: a function is asked for the segments at ``data.reference_ts``.

    Why a function: segments computed on the whole history know what customers bought in a
    validation or test period, and a model tuned or evaluated with them overrates the segment
    (on generated shops the hybrid then over-weighted segment popularity). A function lets each
    time split see the segments as they were at its cut, e.g. ``lambda cut:
    segmenter.predict(shop_before(cut))``.
    """
    if segments is None or isinstance(segments, pd.Series):
        return segments
    if callable(segments):
        return segments(data.reference_ts)
    raise ConfigError(
        f"segments must be a Series (index customer_id) or a function of the cut time, got {type(segments).__name__}."
    )


def as_interactions(data: Interactions | pd.DataFrame, products: pd.DataFrame | None = None) -> Interactions:
    """``data`` as :class:`Interactions`: built from an order-lines frame when it is one."""
    if isinstance(data, Interactions):
        return data
    if isinstance(data, pd.DataFrame):
        return build_interactions(data, products=products)
    raise ConfigError(
        f"fit expects Interactions (see build_interactions) or an order-lines DataFrame, got {type(data).__name__}."
    )


def customer_index(customer_ids: Iterable[object]) -> pd.Index:
    """Customer ids as a string index (ids are text, never numbers: '00042' != '42')."""
    if isinstance(customer_ids, str):
        raise ConfigError("customer_ids must be a list of ids, not one string; wrap it: [customer_id].")
    return pd.Index(pd.Series(list(customer_ids), dtype=object).astype(str).to_numpy(), dtype=object)


def short_titles(titles: np.ndarray, length: int = TITLE_LENGTH) -> np.ndarray:
    """Titles cut to ``length`` characters (with an ellipsis), for reasons."""
    series = pd.Series(titles, dtype=object).astype(str)
    cut = series.str.len() > length
    series[cut] = series[cut].str.slice(0, length - 1).str.rstrip() + "…"
    return series.to_numpy(dtype=object)


def top_n(scores: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Columns and values of the ``n`` highest scores per row, best first (ties: lower column first)."""
    count = scores.shape[1]
    k = min(n, count)
    if k <= 0:
        return np.zeros((scores.shape[0], 0), np.int64), np.zeros((scores.shape[0], 0), scores.dtype)
    if k < count:
        # the k-th largest value per row; everything above it is in, ties at it go to lower columns first
        threshold = -np.partition(-scores, k - 1, axis=1)[:, k - 1 : k]
        above = scores > threshold
        at = scores == threshold
        room = k - above.sum(axis=1, keepdims=True)
        chosen = above | (at & (np.cumsum(at, axis=1) <= room))
        part = np.nonzero(chosen)[1].reshape(len(scores), k)
    else:
        part = np.broadcast_to(np.arange(count), scores.shape).copy()
    values = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -values), axis=-1)
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(values, order, axis=1)


def minmax_rows(scores: np.ndarray, ignore: np.ndarray | None = None) -> np.ndarray:
    """Each row scaled to [0, 1] over its finite entries (constant rows -> 0); in place, returned.

    ``ignore`` (bool, same shape): entries left out of each row's min and max -- a customer's
    already-bought products, which score highest in their own history and would otherwise squash
    every candidate towards 0 -- and clipped into [0, 1] afterwards.
    """
    usable = np.isfinite(scores) if ignore is None else np.isfinite(scores) & ~ignore
    low = np.where(usable, scores, np.inf).min(axis=1, keepdims=True)
    high = np.where(usable, scores, -np.inf).max(axis=1, keepdims=True)
    span = high - low
    scores -= np.where(np.isfinite(low), low, 0)
    scores /= np.where(span > 0, span, np.inf)
    if ignore is not None:
        np.clip(scores, 0.0, 1.0, out=scores)
    return scores


class Recommender(ABC):
    """Base of every recommender; see the module docstring.

    Learned attributes: ``interactions_``; ``popularity_`` (products,) share of buyers;
    ``segment_labels_`` (the segment ids), ``segment_codes_`` (customers,) position in it
    (``len(segment_labels_)`` = no segment), ``segment_lookup_`` (id -> code, also for ids
    the interactions lack), ``segment_popularity_`` (segments + 1, products), last row = shop;
    ``repeat_categories_``, ``repeatable_`` (products,) bool; ``warm_`` (customers,) bool:
    customers the model can score from their own history.
    """

    name: ClassVar[str] = ""
    #: Reason shown for a recommendation when the model has no more specific one.
    reason: ClassVar[str] = "recommended for you"
    #: Learned attributes derived from the interactions: not saved, rebuilt by :meth:`_rebuild`.
    rebuilt_on_load: ClassVar[tuple[str, ...]] = ()

    repeat_categories: Iterable[str] | None
    random_state: int

    # --- parameters ------------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        """The ``__init__`` parameters and their values (as scikit-learn's ``get_params``)."""
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names}

    def clone(self) -> Self:
        """An unfitted copy with the same parameters."""
        return type(self)(**self.get_params())

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items() if not isinstance(v, pd.DataFrame))
        return f"{type(self).__name__}({shown})"

    # --- fitting ---------------------------------------------------------------------
    def fit(
        self,
        interactions: Interactions | pd.DataFrame,
        *,
        products: pd.DataFrame | None = None,
        segments: Segments = None,
        taste: pd.DataFrame | None = None,
    ) -> Self:
        """Learn from ``interactions`` (or an order-lines frame, built with ``products``).

        ``segments``: segment id per customer (index customer_id), for segment popularity and
        cold start, or a function of the cut time giving them (see :func:`resolve_segments`).
        ``taste``: customer vectors (index customer_id) for content models.
        """
        data = as_interactions(interactions, products)
        self.interactions_ = data
        self._fit_segments(data, resolve_segments(segments, data))
        self._fit_popularity(data)
        self._fit_repeat_rule(data)
        self._fit(data, segments=segments, taste=taste)
        self.warm_ = self._warm_customers()
        return self

    def _fit_segments(self, data: Interactions, segments: pd.Series | None) -> None:
        if segments is None or len(segments) == 0:
            self.segment_labels_: list[Any] = []
            self.segment_lookup_ = pd.Series(dtype=np.int64)
            self.segment_codes_ = np.zeros(data.n_customers, dtype=np.int64)
            return
        segments = segments.dropna()
        labels = sorted(pd.unique(segments.to_numpy()), key=lambda v: (str(type(v)), v))
        self.segment_labels_ = list(labels)
        codes = pd.Index(labels).get_indexer(segments.to_numpy())
        lookup = pd.Series(codes, index=segments.index.astype(str))
        self.segment_lookup_ = lookup[~lookup.index.duplicated(keep="last")]
        known = self.segment_lookup_.reindex(data.customer_ids)
        self.segment_codes_ = known.fillna(len(labels)).to_numpy(dtype=np.int64)

    def _fit_popularity(self, data: Interactions) -> None:
        bought = data.purchases.copy()
        bought.data[:] = 1.0
        buyers = np.asarray(bought.sum(axis=0)).ravel()
        active = np.diff(bought.indptr) > 0
        overall = buyers / max(int(active.sum()), 1)
        count = len(self.segment_labels_)
        indicator = sp.csr_matrix(
            (np.ones(data.n_customers), (self.segment_codes_, np.arange(data.n_customers))),
            shape=(count + 1, data.n_customers),
        )
        per_segment = np.asarray((indicator @ bought).todense())
        sizes = indicator @ active.astype(np.float64)
        smoothed = (per_segment + SEGMENT_PRIOR_CUSTOMERS * overall) / (sizes[:, None] + SEGMENT_PRIOR_CUSTOMERS)
        smoothed[count] = overall
        self.popularity_ = overall
        self.segment_popularity_ = smoothed.astype(np.float32)
        peak = overall.max() if overall.size and overall.max() > 0 else 1.0
        self.tie_break_ = (TIE_BREAK * overall / peak).astype(np.float32)

    def _fit_repeat_rule(self, data: Interactions) -> None:
        if self.repeat_categories is None:
            chosen = repeat_categories(data)
        elif isinstance(self.repeat_categories, str):
            raise ConfigError("repeat_categories must be a list of category names (or None for the data rule).")
        else:
            chosen = frozenset(str(c) for c in self.repeat_categories)
        self.repeat_categories_ = chosen
        self.repeatable_ = np.isin(data.categories.astype(str), sorted(chosen))

    @abstractmethod
    def _fit(self, data: Interactions, *, segments: Segments, taste: pd.DataFrame | None) -> None:
        """Learn the model's own state from ``data`` (``segments`` as given to :meth:`fit`)."""

    def _rebuild(self) -> None:
        """Recompute the attributes named in ``rebuilt_on_load`` (after loading a saved model)."""
        return None

    def _warm_customers(self) -> np.ndarray:
        """Customers this model scores from their own history (default: any interaction)."""
        matrix = self.interactions_.purchases + self.interactions_.signals
        return np.diff(sp.csr_matrix(matrix).indptr) > 0

    # --- scoring ---------------------------------------------------------------------
    @abstractmethod
    def _score(self, rows: np.ndarray) -> np.ndarray:
        """float32 scores (len(rows), products) for warm customer rows; higher is better."""

    def _score_with_context(self, rows: np.ndarray) -> tuple[np.ndarray, Any]:
        """Scores plus whatever :meth:`_explain` needs for the same rows (default: nothing)."""
        return self._score(rows), None

    def _explain(self, rows: np.ndarray, items: np.ndarray, context: Any) -> np.ndarray:
        """Reason per recommended pair: object array shaped like ``items`` (rows x n)."""
        return np.full(items.shape, self.reason, dtype=object)

    def _check_fitted(self) -> None:
        if not hasattr(self, "warm_"):
            raise ShopsegError(f"This {type(self).__name__} is not fitted yet: call fit(interactions) first.")

    def segment_codes(self, customer_ids: pd.Index, rows: np.ndarray) -> np.ndarray:
        """Segment code per customer: from the interactions' rows, else from ``segments`` by id."""
        none = len(self.segment_labels_)
        codes = np.full(len(rows), none, dtype=np.int64)
        known = rows >= 0
        codes[known] = self.segment_codes_[rows[known]]
        if len(self.segment_lookup_) and (~known).any():
            looked = self.segment_lookup_.reindex(customer_ids[~known]).fillna(none)
            codes[~known] = looked.to_numpy(dtype=np.int64)
        return codes

    def scores_for(self, rows: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, Any]:
        """Scores for a batch (rows -1 = unknown customer): (scores, warm mask, explain context).

        Warm customers get the model's scores, the others their segment's popularity.
        """
        warm = rows >= 0
        warm[warm] = self.warm_[rows[warm]]
        scores = np.empty((len(rows), self.interactions_.n_products), dtype=np.float32)
        context = None
        if warm.any():
            scores[warm], context = self._score_with_context(rows[warm])
        if (~warm).any():
            scores[~warm] = self.segment_popularity_[codes[~warm]]
        scores += self.tie_break_
        return scores, warm, context

    def explain_for(
        self, rows: np.ndarray, codes: np.ndarray, warm: np.ndarray, items: np.ndarray, context: Any
    ) -> np.ndarray:
        """Reasons (rows x n) for recommended ``items``, as :meth:`scores_for` scored them."""
        reasons = np.empty(items.shape, dtype=object)
        if warm.any():
            reasons[warm] = self._explain(rows[warm], items[warm], context)
        cold = ~warm
        if cold.any():
            in_segment = codes[cold] < len(self.segment_labels_)
            reasons[cold] = np.where(in_segment, POPULAR_IN_SEGMENT, POPULAR_IN_SHOP)[:, None]
        return reasons

    def bought_mask(self, rows: np.ndarray) -> np.ndarray:
        """bool (len(rows), products): products each customer bought, outside repeat categories."""
        mask = np.zeros((len(rows), self.interactions_.n_products), dtype=bool)
        known = np.flatnonzero(rows >= 0)
        if len(known):
            bought = self.interactions_.purchases[rows[known]].tocoo()
            keep = ~self.repeatable_[bought.col]
            mask[known[bought.row[keep]], bought.col[keep]] = True
        return mask

    def exclude_bought(self, rows: np.ndarray, scores: np.ndarray) -> None:
        """Set the scores of products a customer bought to -inf (not in repeat categories); in place."""
        scores[self.bought_mask(rows)] = -np.inf

    def column_scores(self, rows: np.ndarray, column: int) -> tuple[np.ndarray, np.ndarray]:
        """One product's scores for customer ``rows`` (float64) and which rows the model scored
        from their own history (the others got popularity). For audiences; models override it
        with a direct column computation where they have one."""
        codes = self.segment_codes_[rows]
        scores = np.empty(len(rows), dtype=np.float64)
        warm = np.empty(len(rows), dtype=bool)
        step = self.batch_size()
        for start in range(0, len(rows), step):
            batch = slice(start, start + step)
            block, warm[batch], _ = self.scores_for(rows[batch], codes[batch])
            scores[batch] = block[:, column]
        return scores, warm

    def batch_size(self) -> int:
        return max(64, BATCH_CELLS // max(self.interactions_.n_products, 1))

    def recommend(self, customer_ids: Iterable[object], n: int = 10, exclude_bought: bool = True) -> pd.DataFrame:
        """Top ``n`` products per customer: customer_id, rank (1 = best), product_id, score, reason.

        Customers are returned in the order given; unknown ids get cold-start recommendations.
        A customer gets fewer than ``n`` rows only when fewer products are left to recommend.
        """
        self._check_fitted()
        if n < 1:
            raise ConfigError(f"n must be a positive number of recommendations, got {n}.")
        ids = customer_index(customer_ids)
        rows = self.interactions_.customer_ids.get_indexer(ids)
        codes = self.segment_codes(ids, rows)
        product_ids = self.interactions_.product_ids.to_numpy(dtype=object)
        frames = []
        step = self.batch_size()
        for start in range(0, len(ids), step):
            batch = slice(start, start + step)
            scores, warm, context = self.scores_for(rows[batch], codes[batch])
            if exclude_bought:
                self.exclude_bought(rows[batch], scores)
            items, values = top_n(scores, n)
            reasons = self.explain_for(rows[batch], codes[batch], warm, items, context)
            valid = np.isfinite(values)
            frames.append(
                pd.DataFrame(
                    {
                        s.CUSTOMER_ID: np.repeat(ids[batch].to_numpy(dtype=object), items.shape[1])[valid.ravel()],
                        RANK: np.tile(np.arange(1, items.shape[1] + 1), len(items))[valid.ravel()],
                        s.PRODUCT_ID: product_ids[items[valid]],
                        SCORE: values[valid].astype(np.float64),
                        REASON: reasons[valid],
                    }
                )
            )
        if not frames:
            return empty_recommendations()
        return pd.concat(frames, ignore_index=True)


def empty_recommendations() -> pd.DataFrame:
    """The recommendations table with no rows (typed columns)."""
    return pd.DataFrame(
        {
            s.CUSTOMER_ID: pd.Series(dtype=object),
            RANK: pd.Series(dtype=np.int64),
            s.PRODUCT_ID: pd.Series(dtype=object),
            SCORE: pd.Series(dtype=np.float64),
            REASON: pd.Series(dtype=object),
        }
    )
