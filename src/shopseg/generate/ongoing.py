"""An ongoing shop: overlapping cohorts of customers, so demand neither starts nor ends with the data.

:func:`~shopseg.generate.shop.generate_shop` plants every customer's *last* order within a
few hundred days before ``end_date`` (taste segments: 1-240 days), which is what segment
recovery needs (recency differs by segment) but makes the shop a single cohort winding down:
its units per 90 days rise for 21 months and then fall by a quarter in the last 90 days, and
after ``end_date`` nobody would ever buy again. No purchase history can forecast that end,
so it is no test of a demand forecast.

:func:`generate_ongoing_shop` keeps every planted segment, catalogue and purchase rule as they
are and only changes *when* customers live: the customers are split into cohorts, each
generated exactly like ``generate_shop`` does but with its own end date, one every
``cohort_step_days`` from two years before ``end_date`` to two years after it. The tables keep
the two years before ``end_date`` (what a shop's export would hold): lines, returns, events
and reviews outside them are cut, and customers without a purchase in them are left out. At
any moment some cohorts are arriving, some buying and some lapsing, so units per 90 days stay
level (measured: 13,900-14,500 per quarter for 20,000 customers generated, seed 0) and the last
days of the history are an ordinary stretch of an ongoing business, with customers who were
first seen in any window, as in a real shop.

About 58% of the customers generated buy within the kept two years (the others' lives lie
before or after it), so ``n_customers`` generated gives about 0.58 x n_customers in the
tables. The default ``generate_shop`` output is unchanged; the same ``(n_customers, seed,
end_date, cohort_step_days)`` always gives the same tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopseg import schema as s
from shopseg.generate.shop import (
    HISTORY_DAYS,
    GeneratedShop,
    Numbering,
    check_size,
    end_seconds,
    generate_block,
    shop_catalogue,
)

DAY_SECONDS = 86_400
#: The random stream of the cohorts (generate_shop's catalogue is stream 0, its blocks stream 1).
ONGOING_STREAM = 2


def cohort_ends(end: int, step_days: int) -> np.ndarray:
    """Each cohort's end (seconds): every ``step_days`` from two years before ``end`` to two years after."""
    return np.arange(end - HISTORY_DAYS * DAY_SECONDS, end + HISTORY_DAYS * DAY_SECONDS + 1, step_days * DAY_SECONDS)


def generate_ongoing_shop(
    n_customers: int,
    seed: int = 0,
    end_date: str = "2024-06-30",
    *,
    cohort_step_days: int = 90,
    activity: float = 1.0,
) -> GeneratedShop:
    """A shop whose customers arrive and leave all the time; see the module docstring.

    ``n_customers`` are generated (split evenly over the cohorts); those who buy in the two
    years before ``end_date`` are kept. ``activity`` as in ``generate_shop``.
    """
    check_size(n_customers)
    if cohort_step_days < 1:
        raise ValueError(f"cohort_step_days must be at least 1, got {cohort_step_days}")
    catalogue = shop_catalogue(n_customers, seed)
    end = end_seconds(end_date)
    ends = cohort_ends(end, cohort_step_days)
    sizes = np.full(len(ends), n_customers // len(ends))
    sizes[: n_customers % len(ends)] += 1
    numbering, parts = Numbering(), []
    for cohort, (cohort_end, size) in enumerate(zip(ends, sizes, strict=True)):
        if size == 0:
            continue
        rng = np.random.default_rng([seed, ONGOING_STREAM, cohort])
        shop, numbering = generate_block(rng, catalogue, int(size), numbering, int(cohort_end), activity)
        parts.append(shop)
    start = pd.Timestamp(end_date) - pd.Timedelta(days=HISTORY_DAYS)
    stop = pd.Timestamp(end_date)

    def within(frame: pd.DataFrame) -> pd.DataFrame:
        ts = pd.to_datetime(frame[s.TS])
        return frame.loc[(ts >= start) & (ts < stop)]

    orders = within(pd.concat([p.orders for p in parts], ignore_index=True))
    bought = orders.loc[orders[s.QUANTITY] > 0, s.CUSTOMER_ID].unique()
    orders = orders.loc[orders[s.CUSTOMER_ID].isin(bought)]

    def kept(frames: list[pd.DataFrame], timed: bool) -> pd.DataFrame:
        frame = pd.concat(frames, ignore_index=True)
        frame = frame.loc[frame[s.CUSTOMER_ID].isin(bought)]
        return (within(frame) if timed else frame).reset_index(drop=True)

    return GeneratedShop(
        customers=kept([p.customers for p in parts], timed=False),
        products=catalogue.products,
        orders=orders.sort_values(s.TS, kind="stable").reset_index(drop=True),
        events=kept([p.events for p in parts], timed=True).sort_values(s.TS, kind="stable").reset_index(drop=True),
        reviews=kept([p.reviews for p in parts], timed=True).sort_values(s.TS, kind="stable").reset_index(drop=True),
        truth=kept([p.truth for p in parts], timed=False),
    )
