"""Who did what with which product: the customer x product matrices every recommender learns from.

:func:`build_interactions` turns canonical tables into an :class:`Interactions`:

* **purchases** -- order lines that are not returns (``is_return``; without that column, a
  return status or a negative quantity/amount marks a return), one unit per line
  (``purchase_weight="lines"``, the default: robust to wholesale quantities) or the quantity
  bought (``"quantity"``);
* **signals** -- what customers looked at or wrote about: views, carts and (optionally)
  purchase events from the events table, and reviews rated 3 or more (or unrated), weighted
  ``view < cart < review < purchase`` (:data:`DEFAULT_SIGNAL_WEIGHTS`).

Every customer and product seen anywhere (orders, events, reviews, the catalogue, an optional
list of extra customer ids) gets a row or column, sorted by id, so the same inputs always give
the same matrices. The line-level table is kept too (``lines``), because models that tune on a
validation split (the hybrid) and the evaluation cut it by time with :meth:`Interactions.until`
while keeping the same rows and columns. Everything is vectorised: no Python loop per customer
or per line.

The *repeat-purchase rule* lives here as well, because it is a fact about the data:
:func:`repeat_purchase_shares` measures, per category, the share of customer-product pairs
bought on two or more different days; :func:`repeat_categories` keeps the categories at or
above :data:`REPEAT_SHARE_THRESHOLD` (coffee, nappies, printer ink), whose products stay
recommendable to people who already bought them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopseg import schema as s
from shopseg.errors import ConfigError

PURCHASE, CART, VIEW, REVIEW, EVENT_PURCHASE = 0, 1, 2, 3, 4
KIND_NAMES = {PURCHASE: "purchase", CART: "cart", VIEW: "view", REVIEW: "review", EVENT_PURCHASE: "event_purchase"}

#: How much one action says about a customer's interest, relative to a bought line.
DEFAULT_SIGNAL_WEIGHTS: Mapping[str, float] = {
    "purchase": 1.0,
    "event_purchase": 1.0,
    "review": 0.5,
    "cart": 0.3,
    "view": 0.1,
}

#: Event types (lower-cased) read as views, carts or purchases; other events (searches) carry no product.
EVENT_KINDS: Mapping[str, int] = {
    "view": VIEW,
    "page_view": VIEW,
    "product_view": VIEW,
    "detail": VIEW,
    "click": VIEW,
    "cart": CART,
    "add_to_cart": CART,
    "addtocart": CART,
    "basket": CART,
    "wishlist": CART,
    "purchase": EVENT_PURCHASE,
    "transaction": EVENT_PURCHASE,
}

#: Reviews rated below this say "I did not like it" and are not a signal of interest.
MIN_REVIEW_RATING = 3.0

#: A category is repeat-purchase when at least this share of its customer-product pairs was
#: bought on two or more different days. On generated shops (products picked at random within
#: a taste) every category stays between 0.06 and 0.12; consumables in real shops are far above.
REPEAT_SHARE_THRESHOLD = 0.25
#: Categories with fewer bought customer-product pairs than this are never called repeat-purchase.
REPEAT_MIN_PAIRS = 30

SECONDS_PER_DAY = 86_400.0


def _ids(values: pd.Series) -> pd.Series:
    """Non-empty identifiers as strings (missing and empty ones dropped)."""
    values = values.dropna().astype(str)
    return values[values != ""]


def _to_days(ts: pd.Series | np.ndarray) -> np.ndarray:
    """Timestamps as float days since 1970 (for the sparse 'last purchase' matrix: always > 0)."""
    seconds = np.asarray(pd.to_datetime(ts), dtype="datetime64[s]").astype(np.int64)
    return seconds / SECONDS_PER_DAY


def sparse_sum(
    rows: np.ndarray, columns: np.ndarray, values: np.ndarray, shape: tuple[int, int], dtype: type = np.float32
) -> sp.csr_matrix:
    """CSR matrix with ``values`` summed per (row, column), sorted indices."""
    matrix = sp.coo_matrix((np.asarray(values, dtype=dtype), (rows, columns)), shape=shape).tocsr()
    matrix.sum_duplicates()
    matrix.sort_indices()
    return matrix


@dataclass
class Interactions:
    """Customer x product matrices plus the id maps and catalogue they are indexed by.

    ``customer_ids`` (rows) and ``product_ids`` (columns): sorted string indexes.
    ``purchases``: float32 CSR (customers x products), purchase weight per pair (returns excluded).
    ``signals``: float32 CSR, weighted views, carts, event purchases and reviews.
    ``last_purchase_day``: float64 CSR, day (since 1970) of the latest purchase of the pair; 0 = never.
    ``lines``: one row per action -- ``row``, ``column`` (int32), ``ts`` (datetime64), ``kind``
    (int8, see :data:`KIND_NAMES`), ``weight`` (float32, before the signal weight).
    ``titles``, ``categories``, ``texts``: object arrays aligned with ``product_ids`` (the
    product id, "" and "" when the catalogue says nothing). ``reference_ts``: the latest time
    in the data (or the cut of :meth:`until`). ``signal_weights``: see the module docstring.
    """

    customer_ids: pd.Index
    product_ids: pd.Index
    purchases: sp.csr_matrix
    signals: sp.csr_matrix
    last_purchase_day: sp.csr_matrix
    lines: pd.DataFrame
    titles: np.ndarray
    categories: np.ndarray
    texts: np.ndarray
    reference_ts: pd.Timestamp | None
    signal_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_SIGNAL_WEIGHTS))

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.customer_ids), len(self.product_ids))

    @property
    def n_customers(self) -> int:
        return len(self.customer_ids)

    @property
    def n_products(self) -> int:
        return len(self.product_ids)

    @property
    def matrix(self) -> sp.csr_matrix:
        """What collaborative models learn from: weighted purchases plus signals (float32 CSR)."""
        combined = self.purchases * np.float32(self.signal_weights.get("purchase", 1.0)) + self.signals
        combined = sp.csr_matrix(combined, dtype=np.float32)
        combined.sort_indices()
        return combined

    def rows(self, customer_ids: Iterable[object]) -> np.ndarray:
        """Row of each customer id (-1 for customers these interactions do not know)."""
        return self.customer_ids.get_indexer(pd.Index([str(c) for c in customer_ids]))

    def columns(self, product_ids: Iterable[object]) -> np.ndarray:
        """Column of each product id (-1 for products these interactions do not know)."""
        return self.product_ids.get_indexer(pd.Index([str(p) for p in product_ids]))

    def buyers(self) -> np.ndarray:
        """Distinct buyers per product, int64 (products,)."""
        return np.bincount(self.purchases.indices, minlength=self.n_products).astype(np.int64)

    def until(self, cut: pd.Timestamp) -> Interactions:
        """The same rows and columns with only the actions before ``cut`` (reference time = cut)."""
        kept = self.lines[self.lines[s.TS] < pd.Timestamp(cut)]
        return from_lines(kept, self, reference_ts=pd.Timestamp(cut))

    def purchased_between(self, start: pd.Timestamp, end: pd.Timestamp | None = None) -> sp.csr_matrix:
        """Binary CSR (customers x products): pairs bought in ``[start, end)`` (``end`` None: to the end)."""
        lines = self.lines
        chosen = (lines["kind"].to_numpy() == PURCHASE) & (lines[s.TS] >= pd.Timestamp(start)).to_numpy()
        if end is not None:
            chosen &= (lines[s.TS] < pd.Timestamp(end)).to_numpy()
        part = lines[chosen]
        matrix = sparse_sum(part["row"].to_numpy(), part["column"].to_numpy(), np.ones(len(part)), self.shape)
        matrix.data[:] = 1.0
        return matrix


def _is_return(orders: pd.DataFrame) -> np.ndarray:
    """Return lines: the ``is_return`` flag, else a return status or a negative quantity/amount."""
    if s.IS_RETURN in orders:
        return orders[s.IS_RETURN].fillna(False).to_numpy(dtype=bool)
    flag = np.zeros(len(orders), dtype=bool)
    if s.STATUS in orders:
        flag |= orders[s.STATUS].astype(str).str.lower().isin(s.RETURN_STATUSES).to_numpy()
    for column in (s.QUANTITY, s.AMOUNT):
        if column in orders:
            flag |= (pd.to_numeric(orders[column], errors="coerce").fillna(0) < 0).to_numpy()
    return flag


def _purchase_lines(orders: pd.DataFrame | None, purchase_weight: str) -> pd.DataFrame:
    if orders is None or orders.empty or s.PRODUCT_ID not in orders:
        return pd.DataFrame(columns=[s.CUSTOMER_ID, s.PRODUCT_ID, s.TS, "kind", "weight"])
    lines = orders.loc[~_is_return(orders)]
    lines = lines[lines[s.PRODUCT_ID].notna() & lines[s.CUSTOMER_ID].notna()]
    if purchase_weight == "quantity" and s.QUANTITY in lines:
        weight = pd.to_numeric(lines[s.QUANTITY], errors="coerce").fillna(1.0).clip(lower=1.0).to_numpy()
    else:
        weight = np.ones(len(lines))
    return pd.DataFrame(
        {
            s.CUSTOMER_ID: lines[s.CUSTOMER_ID].astype(str).to_numpy(),
            s.PRODUCT_ID: lines[s.PRODUCT_ID].astype(str).to_numpy(),
            s.TS: lines[s.TS].to_numpy(),
            "kind": PURCHASE,
            "weight": weight,
        }
    )


def _event_lines(events: pd.DataFrame | None) -> pd.DataFrame:
    if events is None or events.empty or s.PRODUCT_ID not in events or s.EVENT_TYPE not in events:
        return pd.DataFrame(columns=[s.CUSTOMER_ID, s.PRODUCT_ID, s.TS, "kind", "weight"])
    kind = events[s.EVENT_TYPE].astype(str).str.strip().str.lower().map(EVENT_KINDS)
    product = events[s.PRODUCT_ID]
    keep = kind.notna() & product.notna() & (product.astype(str) != "") & events[s.CUSTOMER_ID].notna()
    part = events.loc[keep]
    return pd.DataFrame(
        {
            s.CUSTOMER_ID: part[s.CUSTOMER_ID].astype(str).to_numpy(),
            s.PRODUCT_ID: part[s.PRODUCT_ID].astype(str).to_numpy(),
            s.TS: part[s.TS].to_numpy(),
            "kind": kind[keep].astype(np.int64).to_numpy(),
            "weight": 1.0,
        }
    )


def _review_lines(reviews: pd.DataFrame | None) -> pd.DataFrame:
    if reviews is None or reviews.empty or s.PRODUCT_ID not in reviews:
        return pd.DataFrame(columns=[s.CUSTOMER_ID, s.PRODUCT_ID, s.TS, "kind", "weight"])
    rating = pd.to_numeric(reviews[s.RATING], errors="coerce") if s.RATING in reviews else None
    keep = reviews[s.PRODUCT_ID].notna() & (reviews[s.PRODUCT_ID].astype(str) != "") & reviews[s.CUSTOMER_ID].notna()
    if rating is not None:
        keep &= rating.isna() | (rating >= MIN_REVIEW_RATING)
    part = reviews.loc[keep]
    return pd.DataFrame(
        {
            s.CUSTOMER_ID: part[s.CUSTOMER_ID].astype(str).to_numpy(),
            s.PRODUCT_ID: part[s.PRODUCT_ID].astype(str).to_numpy(),
            s.TS: part[s.TS].to_numpy(),
            "kind": REVIEW,
            "weight": 1.0,
        }
    )


def _catalogue_arrays(
    product_ids: pd.Index, products: pd.DataFrame | None, orders: pd.DataFrame | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Title, category and text per product; order-line descriptions stand in for a missing catalogue."""
    catalogue = pd.DataFrame(index=product_ids)
    if products is not None and not products.empty and s.PRODUCT_ID in products:
        table = products.assign(**{s.PRODUCT_ID: products[s.PRODUCT_ID].astype(str)}).drop_duplicates(s.PRODUCT_ID)
        catalogue = catalogue.join(table.set_index(s.PRODUCT_ID))
    if orders is not None and s.DESCRIPTION in orders and s.PRODUCT_ID in orders and not orders.empty:
        from shopseg.ingest.load import products_from_order_lines

        described = products_from_order_lines(orders).astype({s.PRODUCT_ID: str}).set_index(s.PRODUCT_ID)[s.TITLE]
        line_title = described.reindex(product_ids)
        title = catalogue[s.TITLE] if s.TITLE in catalogue else pd.Series(np.nan, index=product_ids)
        catalogue[s.TITLE] = title.where(title.notna() & (title.astype(str) != ""), line_title)

    def column(name: str) -> pd.Series:
        if name not in catalogue:
            return pd.Series("", index=product_ids, dtype=object)
        return catalogue[name].astype(object).where(catalogue[name].notna(), "").astype(str).str.strip()

    title, description, category = column(s.TITLE), column(s.DESCRIPTION), column(s.CATEGORY)
    text = (title + ". " + description + ". " + category).str.strip(". ")
    titles = title.where(title != "", pd.Series(product_ids, index=product_ids)).to_numpy(dtype=object)
    return titles, category.to_numpy(dtype=object), text.to_numpy(dtype=object)


def build_interactions(
    orders: pd.DataFrame | None,
    *,
    events: pd.DataFrame | None = None,
    reviews: pd.DataFrame | None = None,
    products: pd.DataFrame | None = None,
    customer_ids: Iterable[object] | None = None,
    purchase_weight: str = "lines",
    signal_weights: Mapping[str, float] | None = None,
) -> Interactions:
    """Interactions from canonical tables; see the module docstring.

    ``orders``: order lines (customer_id, ts, product_id; is_return/status/quantity optional).
    ``events``, ``reviews``, ``products``: optional canonical tables. ``customer_ids``: extra
    customers to give a row (e.g. the customer table), so they get cold-start recommendations.
    ``signal_weights`` overrides entries of :data:`DEFAULT_SIGNAL_WEIGHTS`; weight 0 drops a kind.
    """
    if purchase_weight not in ("lines", "quantity"):
        raise ConfigError(f"purchase_weight must be 'lines' or 'quantity', got '{purchase_weight}'.")
    weights = {**DEFAULT_SIGNAL_WEIGHTS, **(signal_weights or {})}
    unknown = set(weights) - set(DEFAULT_SIGNAL_WEIGHTS)
    if unknown:
        raise ConfigError(f"Unknown signal weight(s) {sorted(unknown)}; known: {', '.join(DEFAULT_SIGNAL_WEIGHTS)}.")
    parts = [_purchase_lines(orders, purchase_weight), _event_lines(events), _review_lines(reviews)]
    parts = [part for part in parts if not part.empty]
    if parts:
        lines = pd.concat(parts, ignore_index=True)
    else:
        lines = pd.DataFrame({c: pd.Series(dtype=object) for c in (s.CUSTOMER_ID, s.PRODUCT_ID)})
        lines[s.TS] = pd.Series(dtype="datetime64[ns]")
        lines["kind"] = pd.Series(dtype=np.int8)
        lines["weight"] = pd.Series(dtype=np.float32)
    lines[s.TS] = pd.to_datetime(lines[s.TS])

    extra = pd.Series(list(customer_ids) if customer_ids is not None else [], dtype=object)
    customers = pd.concat([lines[s.CUSTOMER_ID], extra])
    catalogue_ids = products[s.PRODUCT_ID] if products is not None and s.PRODUCT_ID in products else None
    product_sources = [lines[s.PRODUCT_ID]] + ([catalogue_ids] if catalogue_ids is not None else [])
    customer_index = pd.Index(np.sort(_ids(customers).unique()), name=s.CUSTOMER_ID).astype(object)
    product_index = pd.Index(np.sort(_ids(pd.concat(product_sources)).unique()), name=s.PRODUCT_ID).astype(object)

    table = pd.DataFrame(
        {
            "row": customer_index.get_indexer(lines[s.CUSTOMER_ID]).astype(np.int32),
            "column": product_index.get_indexer(lines[s.PRODUCT_ID]).astype(np.int32),
            s.TS: lines[s.TS].to_numpy(),
            "kind": lines["kind"].to_numpy().astype(np.int8),
            "weight": lines["weight"].to_numpy().astype(np.float32),
        }
    )
    titles, categories, texts = _catalogue_arrays(product_index, products, orders)
    template = Interactions(
        customer_ids=customer_index,
        product_ids=product_index,
        purchases=sp.csr_matrix((len(customer_index), len(product_index)), dtype=np.float32),
        signals=sp.csr_matrix((len(customer_index), len(product_index)), dtype=np.float32),
        last_purchase_day=sp.csr_matrix((len(customer_index), len(product_index)), dtype=np.float64),
        lines=table,
        titles=titles,
        categories=categories,
        texts=texts,
        reference_ts=None,
        signal_weights=weights,
    )
    reference = table[s.TS].max() if len(table) else None
    return from_lines(table, template, reference_ts=reference)


def from_lines(lines: pd.DataFrame, template: Interactions, reference_ts: pd.Timestamp | None) -> Interactions:
    """Matrices rebuilt from ``lines`` with the rows, columns and catalogue of ``template``."""
    shape = template.shape
    kind = lines["kind"].to_numpy()
    row = lines["row"].to_numpy()
    column = lines["column"].to_numpy()
    weight = lines["weight"].to_numpy()
    bought = kind == PURCHASE
    purchases = sparse_sum(row[bought], column[bought], weight[bought], shape)

    kind_weight = np.zeros(max(KIND_NAMES) + 1, dtype=np.float32)
    for code, name in KIND_NAMES.items():
        kind_weight[code] = template.signal_weights.get(name, 0.0)
    other = ~bought
    signal_values = weight[other] * kind_weight[kind[other]]
    nonzero = signal_values > 0
    signals = sparse_sum(row[other][nonzero], column[other][nonzero], signal_values[nonzero], shape)

    last = pd.DataFrame(
        {"key": row[bought].astype(np.int64) * shape[1] + column[bought], "day": _to_days(lines[s.TS][bought])}
    )
    latest = last.groupby("key", sort=True)["day"].max()
    keys = latest.index.to_numpy()
    last_day = sparse_sum(keys // shape[1], keys % shape[1], latest.to_numpy(), shape, dtype=np.float64)
    return replace(
        template,
        purchases=purchases,
        signals=signals,
        last_purchase_day=last_day,
        lines=lines.reset_index(drop=True),
        reference_ts=reference_ts,
    )


def repeat_purchase_shares(interactions: Interactions) -> pd.DataFrame:
    """Per category: bought customer-product ``pairs`` and the ``share`` bought on >= 2 different days."""
    lines = interactions.lines
    bought = lines[lines["kind"] == PURCHASE]
    if bought.empty:
        return pd.DataFrame({"pairs": pd.Series(dtype=np.int64), "share": pd.Series(dtype=float)})
    days = pd.DataFrame(
        {
            "row": bought["row"].to_numpy(),
            "column": bought["column"].to_numpy(),
            "day": np.floor(_to_days(bought[s.TS])).astype(np.int64),
        }
    ).drop_duplicates()
    per_pair = days.groupby(["row", "column"], sort=False).size().reset_index(name="days")
    per_pair["category"] = interactions.categories[per_pair["column"].to_numpy()]
    per_pair = per_pair[per_pair["category"] != ""]
    grouped = (per_pair["days"] >= 2).groupby(per_pair["category"], sort=True)
    return pd.DataFrame({"pairs": grouped.size().astype(np.int64), "share": grouped.mean().astype(float)})


def repeat_categories(
    interactions: Interactions,
    threshold: float = REPEAT_SHARE_THRESHOLD,
    min_pairs: int = REPEAT_MIN_PAIRS,
) -> frozenset[str]:
    """Categories whose products customers re-buy (see :data:`REPEAT_SHARE_THRESHOLD`)."""
    shares = repeat_purchase_shares(interactions)
    chosen = shares[(shares["pairs"] >= min_pairs) & (shares["share"] >= threshold)]
    return frozenset(str(c) for c in chosen.index)
