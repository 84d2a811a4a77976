"""Shops over several periods, with customers who move between planted segments.

``generate_shop_periods(n, periods=2, migrate=0.25)`` makes a shop whose history ends with
``periods`` consecutive periods of ``period_days`` (365) days, the last ending at
``end_date``. Every customer has a planted segment in every period:

* **period 1** is an ordinary generated shop (:func:`~shopseg.generate.shop.generate_shop`'s
  customers, two years of history) ending where period 2 begins;
* in **each later period** a share ``migrate`` of the customers (exactly that many, chosen
  at random) moves to another segment; the rest stay. A customer's activity in the period
  -- how often and how much they buy, at what price level and hour, what they return,
  review and browse, and in which categories -- follows their segment *in that period*:
  their orders, sessions and reviews are drawn from the segment's profile as of the
  period's end (:class:`~shopseg.generate.shop.SegmentProfile`) and whatever would fall
  before the period's start is left out. Stayers keep their personal price level and
  side interest; a mover takes a price level around the new segment's. A lapsing segment
  has little or nothing to do inside a period: a stayer of ``bargain_one_timers`` places no
  order in period 2 (still a lapsed one-timer), a customer who moves from ``vip_loyal`` to
  ``lapsed_big_spenders`` orders at most in the period's first weeks and then stops.

Where customers move (:data:`MIGRATIONS`) follows what happens in shops, so that the
segment a mover lands in is the one their new data shows: regulars change taste, upgrade to
``vip_loyal``, pick up night habits or start returning; night owls and serial returners
settle into a taste segment; one-timers come back as regulars; VIPs lapse or cool down to
regulars; lapsed big spenders are won back as VIPs. Nobody *moves into*
``bargain_one_timers`` (a customer who ordered before cannot become a one-time buyer).

The truth is written per period: ``truth_periods`` (customer_id, period, segment), with
``truth`` holding the last period's segment (so tools reading ``truth.csv`` score the
shop as it is at its end), and ``periods`` (period, start, end, as_of): period ``p``
holds the data dated ``start <= ts < end``, and ``as_of`` is the last day in it, the value
for ``shopseg segment --as-of`` (period 1 starts where its two years of history do).

Without periods nothing changes: ``generate_shop`` and ``write_shop_chunked`` with
``periods=1`` write byte-identical files to before.

Reproducibility: period 1 draws from the block's usual stream; period ``p`` from its own
stream ``(seed, PERIOD_STREAM, block, p)``, so the same arguments give the same shop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

import numpy as np
import pandas as pd
import pyarrow as pa

from shopseg.generate.catalogue import Catalogue, format_ids
from shopseg.generate.shop import (
    DAY,
    DEFAULT_END_DATE,
    HISTORY_DAYS,
    PLANTED_SEGMENTS,
    SEGMENT,
    EventRows,
    GeneratedShop,
    Numbering,
    People,
    Segments,
    block_random,
    browse_sessions,
    check_size,
    cumulative_rows,
    draw_lines,
    end_seconds,
    events_table,
    generate_block_people,
    order_times,
    orders_table,
    people_in,
    purchase_sessions,
    rank_numbers,
    reviews_table,
    sample_by_group,
    shop_catalogue,
)
from shopseg.schema import CUSTOMER_ID, TS

PERIOD = "period"
PERIOD_STREAM = 2
DEFAULT_PERIOD_DAYS = 365
DEFAULT_MIGRATE = 0.25

_TASTE = ("outdoor_enthusiasts", "beauty_lovers", "home_cooks")


def _regular(own: str) -> dict[str, float]:
    """Where a taste regular moves: another taste (most often), up to VIP, night habits, returning."""
    return {
        **{taste: 1.0 for taste in _TASTE if taste != own},
        "vip_loyal": 0.5,
        "night_owls": 0.5,
        "serial_returners": 0.5,
    }


#: Relative weight of each destination for a customer who leaves a segment (rows: from).
MIGRATIONS: Mapping[str, Mapping[str, float]] = MappingProxyType(
    {
        "vip_loyal": {"lapsed_big_spenders": 1.0, **{taste: 0.5 for taste in _TASTE}},
        "bargain_one_timers": {**{taste: 1.0 for taste in _TASTE}, "night_owls": 0.5},
        "serial_returners": {taste: 1.0 for taste in _TASTE},
        "night_owls": {taste: 1.0 for taste in _TASTE},
        "lapsed_big_spenders": {"vip_loyal": 1.0},
        **{taste: _regular(taste) for taste in _TASTE},
    }
)


@dataclass(frozen=True)
class PeriodPlan:
    """How many periods, how long each later one is (days) and the share of customers who move per period."""

    count: int = 2
    days: int = DEFAULT_PERIOD_DAYS
    migrate: float = DEFAULT_MIGRATE

    def check(self) -> None:
        """Refuse settings that make no shop, saying what is allowed."""
        if self.count < 1:
            raise ValueError(f"periods must be at least 1, got {self.count}")
        if self.days < 1:
            raise ValueError(f"period_days must be at least 1 day, got {self.days}")
        if not 0.0 <= self.migrate <= 1.0:
            raise ValueError(f"migrate must be a share between 0 and 1, got {self.migrate}")

    def ends(self, end: int) -> list[int]:
        """Each period's end (seconds since 1970, exclusive), the last at ``end``."""
        return [end - (self.count - 1 - p) * self.days * DAY for p in range(self.count)]

    def table(self, end: int) -> pd.DataFrame:
        """period, start, end, as_of: the dates of every period (``as_of``: its last day)."""
        ends = self.ends(end)
        starts = [ends[0] - HISTORY_DAYS * DAY, *ends[:-1]]
        as_date = lambda seconds: pd.Timestamp(seconds, unit="s").strftime("%Y-%m-%d")  # noqa: E731
        return pd.DataFrame(
            {
                PERIOD: np.arange(1, self.count + 1, dtype=np.int64),
                "start": [as_date(s) for s in starts],
                "end": [as_date(e) for e in ends],
                "as_of": [as_date(e - DAY) for e in ends],
            }
        )


def migration_matrix() -> np.ndarray:
    """:data:`MIGRATIONS` as cumulative rows (segments x segments, in :data:`PLANTED_SEGMENTS` order)."""
    names = list(PLANTED_SEGMENTS)
    weights = np.zeros((len(names), len(names)))
    for source, targets in MIGRATIONS.items():
        for target, weight in targets.items():
            weights[names.index(source), names.index(target)] = weight
    return cumulative_rows(weights)


def migrate_segments(rng: np.random.Generator, segment: np.ndarray, share: float) -> np.ndarray:
    """The next period's segment numbers: ``round(share x customers)`` movers at random, the rest stay."""
    movers = rng.choice(len(segment), size=round(share * len(segment)), replace=False)
    moved = segment.copy()
    moved[movers] = sample_by_group(rng, segment[movers], migration_matrix())
    return moved


def next_people(rng: np.random.Generator, segments: Segments, previous: People, segment: np.ndarray) -> People:
    """Draws of a period: activity from the (new) segment, the person's price level kept unless they moved."""
    drawn = people_in(rng, segments, segment)
    moved = segment != previous.segment
    return replace(
        drawn,
        price_level=np.where(moved, drawn.price_level, previous.price_level),
        side_interest=previous.side_interest,
    )


def _keep_sessions(events: EventRows, keep: np.ndarray, offset: int) -> EventRows:
    """The events of the browse sessions kept (``keep`` per session), sessions renumbered from ``offset``."""
    new_number = offset + np.cumsum(keep) - 1
    local = events.session - offset
    rows = keep[local]
    return EventRows(
        session=new_number[local[rows]],
        seconds=events.seconds[rows],
        kind=events.kind[rows],
        product=events.product[rows],
        query=events.query[rows],
    )


def period_activity(
    rng: np.random.Generator,
    segments: Segments,
    catalogue: Catalogue,
    people: People,
    customer_ids: pa.Array,
    numbering: Numbering,
    start: int,
    end: int,
    activity: float,
) -> tuple[dict[str, pd.DataFrame], Numbering]:
    """Orders, events and reviews of one later period (dated ``start <= ts <= end``), and the next numbering."""
    order_customer, order_seconds = order_times(rng, segments, people, end)
    kept = order_seconds >= start
    order_customer, order_seconds = order_customer[kept], order_seconds[kept]
    people = replace(people, order_count=np.bincount(order_customer, minlength=len(people.segment)))
    order_count = len(order_customer)
    order_ids = format_ids("O", rank_numbers(order_seconds, numbering.order), 7)
    lines = draw_lines(rng, segments, catalogue, people, order_customer, order_seconds, end)
    bought = purchase_sessions(rng, catalogue, lines, order_seconds)
    browsed, browse_customer, browse_start = browse_sessions(rng, segments, catalogue, people, order_count, end)
    in_period = browse_start >= start
    browsed = _keep_sessions(browsed, in_period, order_count)
    browse_customer, browse_start = browse_customer[in_period], browse_start[in_period]
    session_customer = np.concatenate([order_customer, browse_customer])
    session_numbers = rank_numbers(np.concatenate([order_seconds, browse_start]), numbering.session)
    tables = {
        "orders": orders_table(lines, catalogue, customer_ids, order_ids),
        "events": events_table(
            EventRows.concatenate([bought, browsed]), session_customer, session_numbers, catalogue, customer_ids
        ),
        "reviews": reviews_table(rng, segments, catalogue, people, lines, customer_ids, end, activity),
    }
    sessions = numbering.session + len(session_customer)
    following = replace(numbering, order=numbering.order + order_count, session=sessions)
    return tables, following


def _by_time(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Tables of consecutive periods as one, sorted by time (stable: each period's order kept on ties)."""
    table = pd.concat(frames, ignore_index=True)
    return table.sort_values(TS, kind="stable").reset_index(drop=True)


def generate_periods_block(
    seed: int,
    block: int,
    catalogue: Catalogue,
    count: int,
    numbering: Numbering,
    end: int,
    plan: PeriodPlan,
    activity: float = 1.0,
) -> tuple[GeneratedShop, Numbering]:
    """One block of ``count`` customers over every period of ``plan``; see the module docstring."""
    ends = plan.ends(end)
    first, numbering, people = generate_block_people(
        block_random(seed, block), catalogue, count, numbering, ends[0], activity
    )
    segments = Segments.planted(activity)
    customer_ids = pa.array(first.customers[CUSTOMER_ID])
    names = pa.array(segments.names)
    truth = [first.truth.assign(**{PERIOD: 1})]
    parts = {name: [getattr(first, name)] for name in ("orders", "events", "reviews")}
    for period in range(2, plan.count + 1):
        rng = np.random.default_rng([seed, PERIOD_STREAM, block, period])
        segment = migrate_segments(rng, people.segment, plan.migrate)
        people = next_people(rng, segments, people, segment)
        tables, numbering = period_activity(
            rng, segments, catalogue, people, customer_ids, numbering, ends[period - 2], ends[period - 1], activity
        )
        for name, table in tables.items():
            parts[name].append(table)
        segment_names = names.take(pa.array(segment)).to_pandas()
        truth.append(pd.DataFrame({CUSTOMER_ID: first.customers[CUSTOMER_ID], SEGMENT: segment_names, PERIOD: period}))
    truth_periods = pd.concat(truth, ignore_index=True)[[CUSTOMER_ID, PERIOD, SEGMENT]]
    shop = GeneratedShop(
        customers=first.customers,
        products=first.products,
        orders=_by_time(parts["orders"]),
        events=_by_time(parts["events"]),
        reviews=_by_time(parts["reviews"]),
        truth=truth[-1][[CUSTOMER_ID, SEGMENT]].reset_index(drop=True),
        truth_periods=truth_periods,
        periods=plan.table(end),
    )
    return shop, numbering


def generate_shop_periods(
    n_customers: int,
    seed: int = 0,
    end_date: str = DEFAULT_END_DATE,
    plan: PeriodPlan | None = None,
    activity: float = 1.0,
) -> GeneratedShop:
    """A shop of ``plan.count`` periods (default 2 of 365 days, 25% movers), in memory; see the module docstring."""
    check_size(n_customers)
    plan = plan or PeriodPlan()
    plan.check()
    catalogue = shop_catalogue(n_customers, seed)
    end = end_seconds(end_date)
    shop, _ = generate_periods_block(seed, 0, catalogue, n_customers, Numbering(), end, plan, activity)
    return shop
