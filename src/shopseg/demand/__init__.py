"""The demand stage: expected units per product per segment over a horizon, for inventory planning.

:func:`forecast_demand` turns a segmented shop (order lines, customer -> segment, product ->
category) and a fitted transaction model (the value stage's) into a :class:`DemandForecast`:
expected units with 90% intervals at every level of the segment x category x product
hierarchy, reconciled so that the levels add up. :func:`backtest_demand` refits everything on
the data up to a cut-off and scores the next ``horizon_days`` against what was bought, next to
a seasonal naive and a moving average (WAPE and MASE at every level, interval coverage).
Both read each window's segments as of its start (a :class:`Membership`).

How a number is made (each step its own module):

* :mod:`~shopseg.demand.lines` -- purchase lines as units per customer, day and product;
* :mod:`~shopseg.demand.level` -- expected purchase days per segment: each known customer's
  expected orders from the transaction model (mean and variance per parameter draw), times a
  per-segment calibration learned on earlier windows, plus the segment's newcomers;
* :mod:`~shopseg.demand.membership` -- each customer's segment as of a day (the run's model
  placing the shop as it was then), so no window reads segments fitted on its future;
* :mod:`~shopseg.demand.ahead` -- what a segment's customers bought in the windows after
  earlier days: units per purchase day (known customers, newcomers) and the lines the
  shares are measured on;
* :mod:`~shopseg.demand.shares` -- units per purchase day and product / category shares per
  segment, shrunk toward the shop's;
* :mod:`~shopseg.demand.seasonality` -- a shop-level seasonal index from earlier years;
* :mod:`~shopseg.demand.hierarchy` -- the levels, their summing matrix and the MinT (WLS)
  reconciliation;
* :mod:`~shopseg.demand.intervals` -- p05 / p95 from the moments (negative binomial);
* :mod:`~shopseg.demand.backtest`, :mod:`~shopseg.demand.metrics` -- the back-test's baselines
  and scores.

Stages are pure: nothing here reads files or prints.
"""

from shopseg.demand.backtest import BacktestResult, backtest_demand
from shopseg.demand.forecast import DEMAND_COLUMNS, DemandForecast, forecast_demand
from shopseg.demand.horizon import MAX_HORIZON_DAYS, check_horizon
from shopseg.demand.membership import Membership

__all__ = [
    "DEMAND_COLUMNS",
    "MAX_HORIZON_DAYS",
    "BacktestResult",
    "DemandForecast",
    "Membership",
    "backtest_demand",
    "check_horizon",
    "forecast_demand",
]
