"""Synthetic shops with planted customer segments, for measuring how well segmentation works.

A generated shop has the five canonical tables (customers, products, orders, events, reviews)
plus ``truth``: the segment each customer was planted in. Some planted segments differ in
*behaviour* (how often, how much, how recently, at what hour, how many returns), others only
in *taste* (which categories they buy, browse and search, and what their reviews talk about):
``outdoor_enthusiasts``, ``beauty_lovers`` and ``home_cooks`` share one behaviour profile
exactly, so behaviour alone cannot tell them apart and text or category signals must. Every
customer also buys outside their favourite categories (a personal side interest and the
general popularity), so segments overlap as real ones do.

How much they overlap was tuned once, on purpose: a taste-only customer gives
:data:`FAVOURITE_SHARE` (0.75) of their lines to the favourite category outright and
:data:`SIDE_INTEREST_SHARE` (0.10) to a personal side interest; these were 0.6 and 0.15.
With the old values a third of a taste customer's few lines fell outside the favourite, so
many were indistinguishable by construction: a supervised classifier (logistic regression,
5-fold, behaviour features + taste and voice vectors, 5,000 customers, seeds 0-2) reached
only ARI 0.885 (taste-only segments among themselves 0.781), below the 0.90 that
unsupervised segmentation is asked to reach. With the new values it reaches 0.952 (taste
0.930); the taste segments still buy about 30% outside their favourite and still share one
behaviour profile (``REGULAR``), so behaviour alone still cannot separate them.

Demographics (gender, region, channel) are drawn from one distribution for everybody and age
differs only with behaviour, so they never give a taste segment away.

How the data is made, in order (vectorised with numpy and pyarrow: no Python loop runs per
customer or per row):

* customers are split between segments exactly in proportion to their shares, then shuffled;
* each customer has a last-order day, an active span and an order count; orders fall on days
  in that span at hours drawn from the segment's hour-of-day profile;
* each order has one or more lines: a category (segment taste, or the customer's side
  interest), a product at the customer's price level within that category, a quantity, and a
  discount when bought on sale; ``amount == quantity * unit_price`` rounded to cents;
* a returned line is an extra line in the *same order id*, dated 2-30 days after the
  purchase, with status ``returned`` and negative quantity and amount; returns that would fall
  after ``end_date`` have not happened yet and are left out;
* every order comes with a session of views and carts (and often a search) just before it,
  and customers browse in further sessions without buying;
* some customers review products they bought, 2-21 days after buying them.

Timestamps lie within the two years (730 days) before ``end_date`` and never after it; a bare
date as ``end_date`` means midnight at the start of that day.

Reproducibility: every draw comes from ``np.random.default_rng`` seeded with ``(seed, stream,
...)``, never from global state: the catalogue from one stream and each block of customers
from its own, so the same ``(n_customers, seed, end_date)`` always gives identical tables.

Scale: :func:`generate_shop` makes all customers in one block, in memory (peak about 14 kB per
customer: 1.4 GB for 100,000). :func:`write_shop_chunked` makes and appends blocks of
``chunk`` customers so memory stays bounded for shops of millions (1,000,000 customers in
blocks of 200,000: about a minute and 3 GB); with ``chunk >= n_customers`` it writes exactly
what ``write_shop(generate_shop(...))`` writes, with smaller chunks a different (equally
valid) shop whose rows are sorted by time within each block. ``file_format="parquet"``
streams every table into one Parquet file (a row group per block) instead of CSV.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from shopseg.generate.catalogue import (
    CATEGORIES,
    CATEGORY_NAMES,
    Catalogue,
    allocate,
    block_starts,
    build_catalogue,
    format_ids,
    pick_in_groups,
    product_count,
)
from shopseg.generate.review_text import compose_reviews

if TYPE_CHECKING:
    from shopseg.generate.periods import PeriodPlan
from shopseg.schema import (
    AGE,
    AMOUNT,
    CHANNEL,
    CUSTOMER_ID,
    CUSTOMERS,
    EVENT_TYPE,
    EVENTS,
    GENDER,
    ORDER_ID,
    ORDERS,
    PRODUCT_ID,
    PRODUCTS,
    QUANTITY,
    QUERY,
    RATING,
    REGION,
    REVIEWS,
    SESSION_ID,
    SIGNUP_TS,
    STATUS,
    TEXT,
    TS,
    UNIT_PRICE,
)

# --- names this module adds to the canonical ones ---------------------------------------------
#: Column of the truth table naming the planted segment; the truth table's own name.
SEGMENT = "segment"
TRUTH = "truth"
#: The customers' fake e-mail address (PII on purpose, to exercise PII handling).
EMAIL = "email"
COMPLETED = "completed"
RETURNED = "returned"
VIEW, CART, SEARCH = "view", "cart", "search"
#: The tables of a generated shop, as file names without ``.csv``.
TABLE_NAMES = (CUSTOMERS.name, PRODUCTS.name, ORDERS.name, EVENTS.name, REVIEWS.name, TRUTH)
#: The extra tables of a shop of several periods: planted segment per period, and the periods' dates.
TRUTH_PERIODS, PERIODS = "truth_periods", "periods"
EVENT_TYPES = (VIEW, CART, SEARCH)

# --- the shop's time line and habits shared by every segment ----------------------------------
DAY = 86_400
HOUR = 3_600
HISTORY_DAYS = 730
#: Orders and sessions fall 1..LATEST_DAYS_AGO days before end_date (plus a time of day).
LATEST_DAYS_AGO = HISTORY_DAYS - 1
RETURN_DELAY_DAYS = (2, 30)
REVIEW_DELAY_DAYS = (2, 21)
SIGNUP_LEAD_DAYS_MEAN = 30.0
#: Share of a customer's lines and sessions that go to their personal side interest.
SIDE_INTEREST_SHARE = 0.10
#: Spread of a customer's price level around the segment's, and of a line's around the customer's.
CUSTOMER_PRICE_SPREAD = 0.08
LINE_PRICE_SPREAD = 0.2
DISCOUNTS = np.array([0.1, 0.2, 0.3, 0.4])
AGE_SPREAD = 12.0
AGE_RANGE = (18, 85)
SEARCH_BEFORE_PURCHASE = 0.5
BROWSE_SEARCH = 0.6
BROWSE_EXTRA_VIEWS_MEAN = 1.5
ABANDONED_CART = 0.15
#: Browsing starts up to this many days before a customer's first order.
BROWSE_LEAD_DAYS = 14
EXTRA_REVIEWS_MEAN = 0.4
#: Ratings 1..5 of a product the customer sent back, whatever their segment.
RETURNED_RATINGS = (0.45, 0.35, 0.15, 0.04, 0.01)
GENDERS = (("female", 0.51), ("male", 0.47), ("diverse", 0.02))
REGIONS = (("north", 0.22), ("south", 0.24), ("east", 0.18), ("west", 0.21), ("central", 0.15))
CHANNELS = (
    ("organic", 0.35),
    ("paid_search", 0.25),
    ("social", 0.2),
    ("email", 0.1),
    ("referral", 0.1),
)

#: Relative order frequency per hour of day 0..23.
HOUR_PROFILES: Mapping[str, tuple[float, ...]] = MappingProxyType(
    {
        # quiet nights, a lunch bump and an evening peak around 20:00
        "daytime": (
            0.6, 0.3, 0.2, 0.15, 0.15, 0.3, 0.8, 1.8, 3.0, 4.0, 4.5, 5.0,
            6.0, 5.5, 4.5, 4.3, 4.5, 5.0, 5.5, 7.0, 8.0, 7.5, 5.0, 2.5,
        ),
        # over 80% between 22:00 and 03:00
        "night": (
            10.0, 8.0, 6.0, 1.0, 0.3, 0.2, 0.2, 0.2, 0.2, 0.3, 0.3, 0.3,
            0.4, 0.4, 0.3, 0.3, 0.3, 0.4, 0.5, 0.6, 0.9, 1.5, 8.0, 10.0,
        ),
    }
)  # fmt: skip


@dataclass(frozen=True)
class SegmentProfile:
    """How the customers of one planted segment behave and what they like.

    Counts are at least one: orders are ``1 + Poisson(orders_mean - 1)``, lines per order
    ``1 + Poisson(lines_mean - 1)``, quantity ``1 + Poisson(extra_quantity_mean)``.
    ``price_level`` is where in each category's price range they buy (0 cheapest, 1 dearest).
    The last order falls ``last_order_days`` (inclusive range) before ``end_date`` and the
    first one ``active_days`` before the last. ``hours`` names an :data:`HOUR_PROFILES` entry.
    ``return_rate`` is the share of purchase lines returned; ``sale_share`` the share bought
    at a discount. ``review_probability`` is the chance to write reviews at all, ``ratings``
    the weights of ratings 1..5. ``sessions_per_order`` counts browsing sessions without a
    purchase. ``favourites`` gives categories their share of lines outright; the rest follows
    the general popularity of categories.
    """

    share: float
    orders_mean: float
    lines_mean: float
    extra_quantity_mean: float
    price_level: float
    sale_share: float
    last_order_days: tuple[int, int]
    active_days: tuple[int, int]
    hours: str
    return_rate: float
    review_probability: float
    ratings: tuple[float, float, float, float, float]
    sessions_per_order: float
    age_mean: float
    favourites: tuple[tuple[str, float], ...] = ()


#: Share of a taste-only segment's lines that go to its favourite category outright (the rest
#: follows general popularity, before the side interest takes its share).
FAVOURITE_SHARE = 0.75

#: The one behaviour profile of every taste-only segment; they differ in ``favourites`` alone.
REGULAR = SegmentProfile(
    share=0.0,
    orders_mean=4.0,
    lines_mean=1.8,
    extra_quantity_mean=0.3,
    price_level=0.5,
    sale_share=0.15,
    last_order_days=(1, 240),
    active_days=(60, 480),
    hours="daytime",
    return_rate=0.05,
    review_probability=0.45,
    ratings=(0.04, 0.05, 0.11, 0.35, 0.45),
    sessions_per_order=1.2,
    age_mean=38.0,
)

#: The planted segments, in a fixed order (segment number = position); shares sum to 1.
PLANTED_SEGMENTS: Mapping[str, SegmentProfile] = MappingProxyType(
    {
        "vip_loyal": SegmentProfile(
            share=0.05,
            orders_mean=14.0,
            lines_mean=2.4,
            extra_quantity_mean=0.5,
            price_level=0.75,
            sale_share=0.05,
            last_order_days=(1, 30),
            active_days=(365, 700),
            hours="daytime",
            return_rate=0.04,
            review_probability=0.6,
            ratings=(0.02, 0.03, 0.07, 0.28, 0.60),
            sessions_per_order=1.0,
            age_mean=44.0,
        ),
        "bargain_one_timers": SegmentProfile(
            share=0.25,
            orders_mean=1.0,
            lines_mean=1.2,
            extra_quantity_mean=0.1,
            price_level=0.2,
            sale_share=0.7,
            last_order_days=(400, LATEST_DAYS_AGO),
            active_days=(0, 0),
            hours="daytime",
            return_rate=0.02,
            review_probability=0.15,
            ratings=(0.06, 0.08, 0.20, 0.36, 0.30),
            sessions_per_order=2.0,
            age_mean=36.0,
        ),
        "serial_returners": SegmentProfile(
            share=0.07,
            orders_mean=6.0,
            lines_mean=2.8,
            extra_quantity_mean=0.6,
            price_level=0.55,
            sale_share=0.15,
            last_order_days=(1, 120),
            active_days=(120, 540),
            hours="daytime",
            return_rate=0.4,
            review_probability=0.5,
            ratings=(0.25, 0.25, 0.22, 0.18, 0.10),
            sessions_per_order=1.0,
            age_mean=33.0,
        ),
        "night_owls": SegmentProfile(
            share=0.08,
            orders_mean=5.0,
            lines_mean=1.6,
            extra_quantity_mean=0.3,
            price_level=0.5,
            sale_share=0.15,
            last_order_days=(1, 150),
            active_days=(60, 500),
            hours="night",
            return_rate=0.06,
            review_probability=0.35,
            ratings=(0.05, 0.05, 0.12, 0.35, 0.43),
            sessions_per_order=1.5,
            age_mean=29.0,
        ),
        "lapsed_big_spenders": SegmentProfile(
            share=0.06,
            orders_mean=9.0,
            lines_mean=2.2,
            extra_quantity_mean=0.6,
            price_level=0.8,
            sale_share=0.05,
            last_order_days=(300, 540),
            active_days=(120, 360),
            hours="daytime",
            return_rate=0.05,
            review_probability=0.4,
            ratings=(0.08, 0.10, 0.20, 0.32, 0.30),
            sessions_per_order=1.0,
            age_mean=47.0,
        ),
        "outdoor_enthusiasts": replace(REGULAR, share=0.18, favourites=(("outdoor", FAVOURITE_SHARE),)),
        "beauty_lovers": replace(REGULAR, share=0.18, favourites=(("beauty", FAVOURITE_SHARE),)),
        "home_cooks": replace(REGULAR, share=0.13, favourites=(("home & kitchen", FAVOURITE_SHARE),)),
    }
)


@dataclass
class GeneratedShop:
    """The tables of a generated shop (pandas frames, canonical column names).

    ``customers``: customer_id, signup_ts, age, gender, region, channel, email (fake);
    ``products``: product_id, title, description, category, price;
    ``orders``: customer_id, order_id, ts, product_id, quantity, unit_price, amount, status
    (one row per line; returns are extra lines of the same order with negative quantity);
    ``events``: customer_id, ts, event_type (view, cart, search), product_id (empty for
    searches), session_id, query (empty unless a search);
    ``reviews``: customer_id, ts, rating (1-5), text, product_id;
    ``truth``: customer_id, segment (the planted segment's name).

    A shop of several periods (:mod:`shopseg.generate.periods`) also has ``truth_periods``
    (customer_id, period, segment: the planted segment in every period; ``truth`` holds the
    last) and ``periods`` (period, start, end, as_of: each period's dates).
    """

    customers: pd.DataFrame
    products: pd.DataFrame
    orders: pd.DataFrame
    events: pd.DataFrame
    reviews: pd.DataFrame
    truth: pd.DataFrame
    truth_periods: pd.DataFrame | None = None
    periods: pd.DataFrame | None = None

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table under its file name (without ``.csv``), in :data:`TABLE_NAMES` order (then the periods')."""
        frames = (self.customers, self.products, self.orders, self.events, self.reviews, self.truth)
        tables = dict(zip(TABLE_NAMES, frames, strict=True))
        if self.truth_periods is not None and self.periods is not None:
            tables |= {TRUTH_PERIODS: self.truth_periods, PERIODS: self.periods}
        return tables


# --- segment parameters as arrays indexed by segment number ----------------------------------


def segment_parameter(name: str) -> np.ndarray:
    """One :class:`SegmentProfile` field across all planted segments, in order."""
    return np.array([getattr(profile, name) for profile in PLANTED_SEGMENTS.values()])


def cumulative_rows(weights: np.ndarray) -> np.ndarray:
    """Row-normalised cumulative weights, each row ending at exactly 1."""
    cumulative = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
    cumulative[:, -1] = 1.0
    return cumulative


def taste_weights(profile: SegmentProfile) -> np.ndarray:
    """Share of each category in a segment's purchases: favourites, then general popularity."""
    popularity = np.array([category.popularity for category in CATEGORIES])
    favourite = np.zeros(len(CATEGORIES))
    for name, share in profile.favourites:
        favourite[CATEGORY_NAMES.index(name)] = share
    return favourite + (1.0 - favourite.sum()) * popularity / popularity.sum()


def sample_by_group(rng: np.random.Generator, group: np.ndarray, cumulative: np.ndarray) -> np.ndarray:
    """Draw a choice per row from its group's distribution (``cumulative`` is groups x choices).

    One sorted search does all groups at once: group ``g``'s row is shifted by ``g`` so the
    rows line up end to end, and ``g + u`` (``u`` uniform in [0, 1)) lands in row ``g``.
    """
    width = cumulative.shape[1]
    shifted = (cumulative + np.arange(len(cumulative))[:, None]).ravel()
    position = np.searchsorted(shifted, group + rng.random(len(group)), side="right")
    return np.minimum(position - group * width, width - 1)


def uniform_integers(rng: np.random.Generator, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """An integer in ``low..high`` (inclusive, per row) for every row."""
    return low + (rng.random(len(low)) * (high - low + 1)).astype(np.int64)


def draw_labels(rng: np.random.Generator, options: tuple[tuple[str, float], ...], count: int) -> pa.Array:
    """``count`` labels drawn from ``(label, probability)`` options."""
    labels, weights = zip(*options, strict=True)
    chosen = rng.choice(len(labels), size=count, p=np.array(weights) / sum(weights))
    return pa.array(labels).take(chosen)


def repeat_index(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For items counted per owner: each item's owner and its position among its owner's."""
    owner = np.repeat(np.arange(len(counts)), counts)
    return owner, np.arange(len(owner)) - block_starts(counts)[owner]


def rank_numbers(key: np.ndarray, first: int) -> np.ndarray:
    """Numbers ``first, first + 1, ...`` given to rows in the order of ``key`` (stable)."""
    numbers = np.empty(len(key), dtype=np.int64)
    numbers[np.argsort(key, kind="stable")] = first + np.arange(len(key))
    return numbers


def to_timestamps(seconds: np.ndarray) -> pa.Array:
    """Seconds since 1970 as a microsecond timestamp column (what pandas reads CSV dates as)."""
    return pa.array(seconds.astype("datetime64[s]").astype("datetime64[us]"))


def end_seconds(end_date: str) -> int:
    """``end_date`` in seconds since 1970; a bare date means midnight at its start."""
    return int(pd.Timestamp(end_date).tz_localize(None).timestamp())


@dataclass(frozen=True)
class Segments:
    """Every planted segment's parameters as arrays indexed by segment number."""

    names: tuple[str, ...]
    shares: np.ndarray
    taste: np.ndarray
    hours: np.ndarray
    ratings: np.ndarray
    values: dict[str, np.ndarray]

    @classmethod
    def planted(cls, activity: float = 1.0) -> Segments:
        """The arrays of :data:`PLANTED_SEGMENTS`; ``activity`` scales the lines per order (see ``generate_block``)."""
        profiles = list(PLANTED_SEGMENTS.values())
        tables = ("hours", "ratings", "favourites")
        numeric = [f.name for f in fields(SegmentProfile) if f.name not in tables]
        return cls(
            names=tuple(PLANTED_SEGMENTS),
            shares=segment_parameter("share"),
            taste=cumulative_rows(np.array([taste_weights(profile) for profile in profiles])),
            hours=cumulative_rows(np.array([HOUR_PROFILES[profile.hours] for profile in profiles])),
            ratings=cumulative_rows(segment_parameter("ratings")),
            values={name: segment_parameter(name) * (activity if name == "lines_mean" else 1.0) for name in numeric},
        )

    def __getitem__(self, name: str) -> np.ndarray:
        """A numeric :class:`SegmentProfile` field per segment (ranges as rows of two)."""
        return self.values[name]


@dataclass(frozen=True)
class People:
    """Per-customer draws of one block (arrays of the block's customers, in id order)."""

    segment: np.ndarray
    price_level: np.ndarray
    side_interest: np.ndarray
    last_days_ago: np.ndarray
    first_days_ago: np.ndarray
    order_count: np.ndarray


@dataclass(frozen=True)
class Lines:
    """Purchase lines of one block, grouped by customer, with the order each belongs to."""

    customer: np.ndarray
    order: np.ndarray
    seconds: np.ndarray
    product: np.ndarray
    quantity: np.ndarray
    unit_price: np.ndarray
    amount: np.ndarray
    returned_at: np.ndarray  # seconds of the return, -1 where not returned (by end_date)


@dataclass(frozen=True)
class Numbering:
    """Where a block's customer, order and session numbers start (all count from 1)."""

    customer: int = 1
    order: int = 1
    session: int = 1


# --- customers --------------------------------------------------------------------------------


def assign_segments(rng: np.random.Generator, segments: Segments, count: int) -> np.ndarray:
    """Segment numbers for ``count`` customers, in exact proportion to the shares, shuffled."""
    sizes = allocate(count, segments.shares)
    return rng.permutation(np.repeat(np.arange(len(sizes)), sizes))


def draw_people(rng: np.random.Generator, segments: Segments, count: int) -> People:
    """Segment, price level, side interest, activity window and order count per customer."""
    return people_in(rng, segments, assign_segments(rng, segments, count))


def people_in(rng: np.random.Generator, segments: Segments, segment: np.ndarray) -> People:
    """Price level, side interest, activity window and order count of customers in ``segment`` (numbers)."""
    count = len(segment)
    last_low, last_high = segments["last_order_days"][segment].T
    span_low, span_high = segments["active_days"][segment].T
    last_days_ago = uniform_integers(rng, last_low, last_high)
    span = np.minimum(uniform_integers(rng, span_low, span_high), LATEST_DAYS_AGO - last_days_ago)
    price_level = segments["price_level"][segment] + rng.normal(0, CUSTOMER_PRICE_SPREAD, count)
    popularity = np.array([category.popularity for category in CATEGORIES])
    return People(
        segment=segment,
        price_level=np.clip(price_level, 0.0, 1.0),
        side_interest=rng.choice(len(CATEGORIES), size=count, p=popularity / popularity.sum()),
        last_days_ago=last_days_ago,
        first_days_ago=last_days_ago + span,
        order_count=1 + rng.poisson(segments["orders_mean"][segment] - 1.0),
    )


def customer_tables(
    rng: np.random.Generator,
    segments: Segments,
    people: People,
    customer_ids: pa.Array,
    numbers: np.ndarray,
    signup_seconds: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The customers table (demographics, fake e-mail) and the truth table."""
    count = len(people.segment)
    age = rng.normal(segments["age_mean"][people.segment], AGE_SPREAD)
    digits = pa.array(numbers).cast(pa.string())
    customers = pa.table(
        {
            CUSTOMER_ID: customer_ids,
            SIGNUP_TS: to_timestamps(signup_seconds),
            AGE: np.clip(np.round(age), *AGE_RANGE).astype(np.int64),
            GENDER: draw_labels(rng, GENDERS, count),
            REGION: draw_labels(rng, REGIONS, count),
            CHANNEL: draw_labels(rng, CHANNELS, count),
            EMAIL: pc.binary_join_element_wise("user", digits, "@example.com", ""),
        }
    )
    truth = pa.table({CUSTOMER_ID: customer_ids, SEGMENT: pa.array(segments.names).take(people.segment)})
    return customers.to_pandas(), truth.to_pandas()


def signup_times(rng: np.random.Generator, first_order: np.ndarray, end: int) -> np.ndarray:
    """Sign-up a while (exponential, mean 30 days) before the first order; where that would
    fall before the shop's history begins, at a uniform moment between the two instead."""
    available = first_order - (end - HISTORY_DAYS * DAY)
    lead = rng.exponential(SIGNUP_LEAD_DAYS_MEAN * DAY, len(first_order))
    lead = np.where(lead <= available, lead, available * rng.random(len(first_order)))
    return first_order - lead.astype(np.int64)


# --- orders -----------------------------------------------------------------------------------


def time_of_day(rng: np.random.Generator, segments: Segments, segment: np.ndarray) -> np.ndarray:
    """Seconds after midnight, the hour drawn from each row's segment hour profile."""
    hour = sample_by_group(rng, segment, segments.hours)
    return hour * HOUR + rng.integers(0, HOUR, len(segment))


def pick_categories(rng: np.random.Generator, segments: Segments, people: People, customer: np.ndarray) -> np.ndarray:
    """A category per row of ``customer``: segment taste, or now and then the side interest."""
    category = sample_by_group(rng, people.segment[customer], segments.taste)
    side = rng.random(len(customer)) < SIDE_INTEREST_SHARE
    return np.where(side, people.side_interest[customer], category)


def pick_products(
    rng: np.random.Generator,
    catalogue: Catalogue,
    category: np.ndarray,
    price_level: np.ndarray,
) -> np.ndarray:
    """A product (pick-order index) per row, in ``category`` near ``price_level`` quantile."""
    quantile = price_level + rng.normal(0, LINE_PRICE_SPREAD, len(category))
    quantile = np.clip(quantile, 0.0, np.nextafter(1.0, 0.0))
    size = catalogue.category_size[category]
    return catalogue.category_start[category] + (quantile * size).astype(np.int64)


def order_times(
    rng: np.random.Generator, segments: Segments, people: People, end: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each order's customer and time; a customer's first order is their last-order day."""
    customer, position = repeat_index(people.order_count)
    last = people.last_days_ago[customer]
    span = people.first_days_ago[customer] - last
    days_ago = last + np.where(position == 0, 0, (rng.random(len(customer)) * (span + 1)))
    day_start = end - days_ago.astype(np.int64) * DAY
    return customer, day_start + time_of_day(rng, segments, people.segment[customer])


def draw_lines(
    rng: np.random.Generator,
    segments: Segments,
    catalogue: Catalogue,
    people: People,
    order_customer: np.ndarray,
    order_seconds: np.ndarray,
    end: int,
) -> Lines:
    """Purchase lines for every order: product, quantity, price paid, and any return."""
    segment_of_order = people.segment[order_customer]
    lines_per_order = 1 + rng.poisson(segments["lines_mean"][segment_of_order] - 1.0)
    order, _ = repeat_index(lines_per_order)
    customer = order_customer[order]
    segment = people.segment[customer]
    count = len(order)
    category = pick_categories(rng, segments, people, customer)
    product = pick_products(rng, catalogue, category, people.price_level[customer])
    quantity = 1 + rng.poisson(segments["extra_quantity_mean"][segment])
    on_sale = rng.random(count) < segments["sale_share"][segment]
    discount = np.where(on_sale, rng.choice(DISCOUNTS, count), 0.0)
    unit_price = np.round(catalogue.prices[product] * (1.0 - discount), 2)
    seconds = order_seconds[order]
    return_seconds = seconds + rng.integers(RETURN_DELAY_DAYS[0] * DAY, RETURN_DELAY_DAYS[1] * DAY, count)
    returned = (rng.random(count) < segments["return_rate"][segment]) & (return_seconds <= end)
    return Lines(
        customer=customer,
        order=order,
        seconds=seconds,
        product=product,
        quantity=quantity,
        unit_price=unit_price,
        amount=np.round(quantity * unit_price, 2),
        returned_at=np.where(returned, return_seconds, -1),
    )


def orders_table(lines: Lines, catalogue: Catalogue, customer_ids: pa.Array, order_ids: pa.Array) -> pd.DataFrame:
    """Purchase lines followed by return lines, sorted by time (``order_ids`` per order)."""
    returned = np.flatnonzero(lines.returned_at >= 0)
    row = np.concatenate([np.arange(len(lines.order)), returned])
    sign = np.concatenate([np.ones(len(lines.order), np.int64), -np.ones(len(returned), np.int64)])
    seconds = np.concatenate([lines.seconds, lines.returned_at[returned]])
    order = np.argsort(seconds, kind="stable")
    row, sign, seconds = row[order], sign[order], seconds[order]
    table = pa.table(
        {
            CUSTOMER_ID: customer_ids.take(lines.customer[row]),
            ORDER_ID: order_ids.take(lines.order[row]),
            TS: to_timestamps(seconds),
            PRODUCT_ID: catalogue.product_ids.take(lines.product[row]),
            QUANTITY: sign * lines.quantity[row],
            UNIT_PRICE: lines.unit_price[row],
            AMOUNT: sign * lines.amount[row],
            STATUS: pa.array(np.where(sign > 0, COMPLETED, RETURNED)),
        }
    )
    return table.to_pandas()


# --- browsing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventRows:
    """Events before they become a table: session, time, type code, product and query."""

    session: np.ndarray
    seconds: np.ndarray
    kind: np.ndarray  # index into EVENT_TYPES
    product: np.ndarray  # pick-order index, -1 for none
    query: np.ndarray  # index into catalogue.queries, -1 for none

    @staticmethod
    def concatenate(parts: list[EventRows]) -> EventRows:
        """The rows of all ``parts``, one after another."""
        return EventRows(*(np.concatenate([getattr(part, f.name) for part in parts]) for f in fields(EventRows)))


def purchase_sessions(
    rng: np.random.Generator,
    catalogue: Catalogue,
    lines: Lines,
    order_seconds: np.ndarray,
) -> EventRows:
    """The session before each order (session index = order index): often a search in the
    first line's category, then a view and a cart of every line."""
    order_count = len(order_seconds)
    first_line = np.searchsorted(lines.order, np.arange(order_count))
    searched = np.flatnonzero(rng.random(order_count) < SEARCH_BEFORE_PURCHASE)
    searched_category = catalogue.category_index[lines.product[first_line[searched]]]
    query = pick_in_groups(rng, searched_category, catalogue.query_start, catalogue.query_size)
    line_count = len(lines.order)
    search = EventRows(
        session=searched,
        seconds=order_seconds[searched] - rng.integers(20 * 60, 40 * 60, len(searched)),
        kind=np.full(len(searched), EVENT_TYPES.index(SEARCH)),
        product=np.full(len(searched), -1),
        query=query,
    )
    views = EventRows(
        session=lines.order,
        seconds=lines.seconds - rng.integers(5 * 60, 20 * 60, line_count),
        kind=np.full(line_count, EVENT_TYPES.index(VIEW)),
        product=lines.product,
        query=np.full(line_count, -1),
    )
    carts = replace(
        views,
        seconds=lines.seconds - rng.integers(60, 4 * 60, line_count),
        kind=np.full(line_count, EVENT_TYPES.index(CART)),
    )
    return EventRows.concatenate([search, views, carts])


def browse_sessions(
    rng: np.random.Generator,
    segments: Segments,
    catalogue: Catalogue,
    people: People,
    session_offset: int,
    end: int,
) -> tuple[EventRows, np.ndarray, np.ndarray]:
    """Sessions without a purchase: their events (sessions numbered from ``session_offset``),
    and each session's customer and start time.

    A session looks at one category (taste or side interest): maybe a search, one or more
    views, and now and then an abandoned cart of the last product viewed. Sessions fall between
    shortly before a customer's first order and their last one.
    """
    segment = people.segment
    expected = segments["sessions_per_order"][segment] * people.order_count
    session_customer, _ = repeat_index(rng.poisson(expected))
    session_count = len(session_customer)
    latest = people.last_days_ago[session_customer]
    earliest = np.minimum(people.first_days_ago[session_customer] + BROWSE_LEAD_DAYS, LATEST_DAYS_AGO)
    days_ago = uniform_integers(rng, latest, earliest)
    start = end - days_ago * DAY + time_of_day(rng, segments, segment[session_customer])
    category = pick_categories(rng, segments, people, session_customer)
    searched = rng.random(session_count) < BROWSE_SEARCH
    carted = rng.random(session_count) < ABANDONED_CART
    views = 1 + rng.poisson(BROWSE_EXTRA_VIEWS_MEAN, session_count)
    event_count = searched + views + carted
    session, position = repeat_index(event_count)
    is_search = searched[session] & (position == 0)
    is_cart = carted[session] & (position == event_count[session] - 1)
    product = pick_products(rng, catalogue, category[session], people.price_level[session_customer[session]])
    cart_rows = np.flatnonzero(is_cart)
    product[cart_rows] = product[cart_rows - 1]
    query = pick_in_groups(rng, category[session], catalogue.query_start, catalogue.query_size)
    kind = np.select(
        [is_search, is_cart],
        [EVENT_TYPES.index(SEARCH), EVENT_TYPES.index(CART)],
        EVENT_TYPES.index(VIEW),
    )
    seconds = start[session] + position * 90 + rng.integers(0, 60, len(session))
    events = EventRows(
        session=session_offset + session,
        seconds=np.minimum(seconds, end),
        kind=kind,
        product=np.where(is_search, -1, product),
        query=np.where(is_search, query, -1),
    )
    return events, session_customer, start


def events_table(
    events: EventRows,
    session_customer: np.ndarray,
    session_numbers: np.ndarray,
    catalogue: Catalogue,
    customer_ids: pa.Array,
) -> pd.DataFrame:
    """The events table, sorted by time; empty strings where a column does not apply."""
    order = np.argsort(events.seconds, kind="stable")
    session = events.session[order]
    product = events.product[order]
    query = events.query[order]
    product_ids = pa.concat_arrays([catalogue.product_ids, pa.array([""])])
    queries = pa.concat_arrays([catalogue.queries, pa.array([""])])
    table = pa.table(
        {
            CUSTOMER_ID: customer_ids.take(session_customer[session]),
            TS: to_timestamps(events.seconds[order]),
            EVENT_TYPE: pa.array(EVENT_TYPES).take(events.kind[order]),
            PRODUCT_ID: product_ids.take(np.where(product < 0, len(product_ids) - 1, product)),
            SESSION_ID: format_ids("S", session_numbers, 8).take(session),
            QUERY: queries.take(np.where(query < 0, len(queries) - 1, query)),
        }
    )
    return table.to_pandas()


# --- reviews ----------------------------------------------------------------------------------


def reviews_table(
    rng: np.random.Generator,
    segments: Segments,
    catalogue: Catalogue,
    people: People,
    lines: Lines,
    customer_ids: pa.Array,
    end: int,
    activity: float = 1.0,
) -> pd.DataFrame:
    """Reviews of bought products by the customers who write any, sorted by time.

    A writer reviews ``ceil(activity x (1 + Poisson(0.4)))`` different lines of theirs (never
    more than they have), 2-21 days after buying; a returned product gets a low rating
    whatever the segment.
    """
    count = len(people.segment)
    writes = rng.random(count) < segments["review_probability"][people.segment]
    lines_per_customer = np.bincount(lines.customer, minlength=count)
    first_line = block_starts(lines_per_customer)
    wanted = np.ceil(activity * (1 + rng.poisson(EXTRA_REVIEWS_MEAN, count))).astype(np.int64)
    reviewer, position = repeat_index(np.where(writes, np.minimum(wanted, lines_per_customer), 0))
    offset = rng.integers(0, np.maximum(lines_per_customer, 1))
    line = first_line[reviewer] + (offset[reviewer] + position) % lines_per_customer[reviewer]
    delay = rng.integers(REVIEW_DELAY_DAYS[0] * DAY, REVIEW_DELAY_DAYS[1] * DAY, len(line))
    seconds = lines.seconds[line] + delay
    kept = np.flatnonzero(seconds <= end)
    reviewer, line, seconds = reviewer[kept], line[kept], seconds[kept]
    returned_rating = rng.choice(len(RETURNED_RATINGS), size=len(line), p=RETURNED_RATINGS)
    usual_rating = sample_by_group(rng, people.segment[reviewer], segments.ratings)
    rating = 1 + np.where(lines.returned_at[line] >= 0, returned_rating, usual_rating)
    product = lines.product[line]
    text = compose_reviews(
        rng,
        catalogue.category_index[product],
        rating,
        catalogue.nouns.take(product),
        catalogue.plural[product],
    )
    order = np.argsort(seconds, kind="stable")
    table = pa.table(
        {
            CUSTOMER_ID: customer_ids.take(reviewer[order]),
            TS: to_timestamps(seconds[order]),
            RATING: rating[order].astype(np.int64),
            TEXT: text.take(order),
            PRODUCT_ID: catalogue.product_ids.take(product[order]),
        }
    )
    return table.to_pandas()


# --- putting a block together -----------------------------------------------------------------


def generate_block(
    rng: np.random.Generator,
    catalogue: Catalogue,
    count: int,
    numbering: Numbering,
    end: int,
    activity: float = 1.0,
) -> tuple[GeneratedShop, Numbering]:
    """``count`` customers with everything they did, numbered from ``numbering``; also the
    numbering the next block starts from.

    ``activity`` (default 1) multiplies the mean lines per order and the reviews per writer:
    2 gives about 20 order lines and 1 review per customer instead of 10 and 0.5, the density
    of a busy marketplace, with the same segments, orders and timing.
    """
    shop, following, _ = generate_block_people(rng, catalogue, count, numbering, end, activity)
    return shop, following


def generate_block_people(
    rng: np.random.Generator,
    catalogue: Catalogue,
    count: int,
    numbering: Numbering,
    end: int,
    activity: float = 1.0,
) -> tuple[GeneratedShop, Numbering, People]:
    """:func:`generate_block`, also returning the customers' draws (the first period of a shop of several)."""
    if activity <= 0:
        raise ValueError(f"activity must be positive, got {activity}")
    segments = Segments.planted(activity)
    people = draw_people(rng, segments, count)
    customer_numbers = numbering.customer + np.arange(count)
    customer_ids = format_ids("C", customer_numbers, 6)

    order_customer, order_seconds = order_times(rng, segments, people, end)
    order_count = len(order_customer)
    order_ids = format_ids("O", rank_numbers(order_seconds, numbering.order), 7)
    lines = draw_lines(rng, segments, catalogue, people, order_customer, order_seconds, end)
    first_order = np.minimum.reduceat(order_seconds, block_starts(people.order_count))
    signup_seconds = signup_times(rng, first_order, end)

    bought = purchase_sessions(rng, catalogue, lines, order_seconds)
    browsed, browse_customer, browse_start = browse_sessions(rng, segments, catalogue, people, order_count, end)
    session_customer = np.concatenate([order_customer, browse_customer])
    session_numbers = rank_numbers(np.concatenate([order_seconds, browse_start]), numbering.session)

    customers, truth = customer_tables(rng, segments, people, customer_ids, customer_numbers, signup_seconds)
    shop = GeneratedShop(
        customers=customers,
        products=catalogue.products,
        orders=orders_table(lines, catalogue, customer_ids, order_ids),
        events=events_table(
            EventRows.concatenate([bought, browsed]),
            session_customer,
            session_numbers,
            catalogue,
            customer_ids,
        ),
        reviews=reviews_table(rng, segments, catalogue, people, lines, customer_ids, end, activity),
        truth=truth,
    )
    following = Numbering(
        customer=numbering.customer + count,
        order=numbering.order + order_count,
        session=numbering.session + len(session_customer),
    )
    return shop, following, people


CATALOGUE_STREAM, CUSTOMER_STREAM = 0, 1
#: The day a generated shop's history ends (midnight at its start).
DEFAULT_END_DATE = "2024-06-30"


def check_size(n_customers: int) -> None:
    """Refuse a shop without customers, saying what is allowed."""
    if n_customers < 1:
        raise ValueError(f"n_customers must be at least 1, got {n_customers}")


def shop_catalogue(n_customers: int, seed: int) -> Catalogue:
    """The catalogue of a shop, from its own random stream (shared by all blocks)."""
    rng = np.random.default_rng([seed, CATALOGUE_STREAM])
    return build_catalogue(rng, product_count(n_customers))


def block_random(seed: int, block: int) -> np.random.Generator:
    """The random stream of block number ``block`` of customers."""
    return np.random.default_rng([seed, CUSTOMER_STREAM, block])


def generate_shop(
    n_customers: int, seed: int = 0, end_date: str = "2024-06-30", activity: float = 1.0
) -> GeneratedShop:
    """Generate a shop of ``n_customers`` with planted segments, all in memory at once.

    The same ``(n_customers, seed, end_date)`` always gives identical tables. Memory grows
    linearly, peaking at about 14 kB per customer (1.4 GB for 100,000); for millions of
    customers use :func:`write_shop_chunked`.
    """
    check_size(n_customers)
    catalogue = shop_catalogue(n_customers, seed)
    end = end_seconds(end_date)
    shop, _ = generate_block(block_random(seed, 0), catalogue, n_customers, Numbering(), end, activity)
    return shop


# --- writing ----------------------------------------------------------------------------------


def write_csv(frame: pd.DataFrame, path: Path, header: bool = True) -> None:
    """Write ``frame`` as UTF-8 CSV with ``YYYY-MM-DD HH:MM:SS`` timestamps, quoting only
    where needed (DuckDB writes it several times faster than pandas)."""
    connection = duckdb.connect()
    try:
        connection.register("frame", frame)
        target = str(path).replace("'", "''")
        connection.execute(
            f"COPY frame TO '{target}' (FORMAT csv, HEADER {str(header).lower()}, TIMESTAMPFORMAT '%Y-%m-%d %H:%M:%S')"
        )
    finally:
        connection.close()


#: File formats the writers produce: one ``<table>.csv`` or ``<table>.parquet`` per table.
FILE_FORMATS = ("csv", "parquet")


def check_format(file_format: str) -> None:
    """Refuse a file format the writers do not know, naming the ones they do."""
    if file_format not in FILE_FORMATS:
        raise ValueError(f"file_format must be one of {', '.join(FILE_FORMATS)}, got '{file_format}'")


def staging_folder(out_dir: Path) -> Path:
    """A fresh temporary folder beside ``out_dir`` (same file system, so renames are atomic)."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))


def publish(staging: Path, out_dir: Path, names: list[str], file_format: str = "csv") -> dict[str, Path]:
    """Move every ``name.<format>`` from ``staging`` into ``out_dir`` with atomic renames."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in names:
        paths[name] = out_dir / f"{name}.{file_format}"
        os.replace(staging / f"{name}.{file_format}", paths[name])
    return paths


class ParquetAppender:
    """Appends blocks of one table to a single Parquet file, one row group per block.

    The first block fixes the schema; later blocks are cast to it, so a column that happens
    to be empty in one block cannot change its type half-way through the file. Only the
    current block is in memory: the writer streams row groups to disk.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: pq.ParquetWriter | None = None

    def append(self, frame: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self._writer is None:
            schema = pa.schema(
                [field.with_type(pa.string()) if pa.types.is_null(field.type) else field for field in table.schema]
            ).remove_metadata()
            self._writer = pq.ParquetWriter(self.path, schema, compression="zstd")
        self._writer.write_table(table.cast(self._writer.schema))

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def write_shop(shop: GeneratedShop, out_dir: str | Path, file_format: str = "csv") -> dict[str, Path]:
    """Write the shop's six tables as ``<table>.csv`` (or ``.parquet``) into ``out_dir`` (created if missing).

    Files are written into a temporary folder beside ``out_dir`` and renamed into place one by
    one, so no reader ever sees a half-written file. Returns ``{table name: path}``.
    """
    check_format(file_format)
    out_dir = Path(out_dir).resolve()
    staging = staging_folder(out_dir)
    try:
        for name, frame in shop.tables().items():
            path = staging / f"{name}.{file_format}"
            if file_format == "csv":
                write_csv(frame, path)
            else:
                appender = ParquetAppender(path)
                appender.append(frame)
                appender.close()
        return publish(staging, out_dir, list(shop.tables()), file_format)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def append_csv(frame: pd.DataFrame, path: Path, header: bool) -> None:
    """Append ``frame`` to the CSV at ``path`` (with a header only when asked)."""
    part = path.with_suffix(".part")
    write_csv(frame, part, header=header)
    with part.open("rb") as source, path.open("ab") as target:
        shutil.copyfileobj(source, target)
    part.unlink()


def write_shop_chunked(
    n_customers: int,
    out_dir: str | Path,
    seed: int = 0,
    end_date: str = "2024-06-30",
    chunk: int = 200_000,
    file_format: str = "csv",
    on_block: Callable[[int, int], None] | None = None,
    activity: float = 1.0,
    plan: PeriodPlan | None = None,
) -> dict[str, Path]:
    """Generate and write a shop block by block, holding at most ``chunk`` customers in memory.

    Blocks share one catalogue and continue each other's numbering; block ``k`` draws from its
    own random stream, so the output depends on ``chunk`` as well as on the seed. With
    ``chunk >= n_customers`` it writes the same tables as ``write_shop(generate_shop(...))``.
    Rows are sorted by time within each block. ``file_format`` "parquet" streams each table
    into one Parquet file (a row group per block, zstd), which reads back several times faster
    than CSV. ``on_block(customers_done, n_customers)`` reports progress. Written atomically
    as :func:`write_shop`. ``plan`` (a :class:`~shopseg.generate.periods.PeriodPlan` of two or
    more periods) makes a shop whose customers move between segments from period to period,
    with ``truth_periods`` and ``periods`` tables (see :mod:`shopseg.generate.periods`).
    """
    from shopseg.generate.periods import generate_periods_block


    check_size(n_customers)
    check_format(file_format)
    if chunk < 1:
        raise ValueError(f"chunk must be at least 1 customer, got {chunk}")
    out_dir = Path(out_dir).resolve()
    end = end_seconds(end_date)
    catalogue = shop_catalogue(n_customers, seed)
    staging = staging_folder(out_dir)
    if plan is not None:
        plan.check()
    periods = plan is not None and plan.count > 1
    names = [*TABLE_NAMES, *((TRUTH_PERIODS, PERIODS) if periods else ())]
    appenders = {name: ParquetAppender(staging / f"{name}.parquet") for name in names}
    try:
        numbering = Numbering()
        for block, first in enumerate(range(0, n_customers, chunk)):
            count = min(chunk, n_customers - first)
            if periods:
                shop, numbering = generate_periods_block(seed, block, catalogue, count, numbering, end, plan, activity)
            else:
                shop, numbering = generate_block(block_random(seed, block), catalogue, count, numbering, end, activity)
            for name, frame in shop.tables().items():
                if name in (PRODUCTS.name, PERIODS) and block > 0:
                    continue  # one catalogue (and one calendar) for the whole shop
                if file_format == "csv":
                    append_csv(frame, staging / f"{name}.csv", header=block == 0)
                else:
                    appenders[name].append(frame)
            if on_block:
                on_block(first + count, n_customers)
        for appender in appenders.values():
            appender.close()
        return publish(staging, out_dir, names, file_format)
    finally:
        for appender in appenders.values():
            appender.close()
        shutil.rmtree(staging, ignore_errors=True)
