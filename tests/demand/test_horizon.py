"""Bad horizons get a clear error; good ones come back as whole days."""

from __future__ import annotations

import pytest

from shopseg.demand import MAX_HORIZON_DAYS, check_horizon
from shopseg.errors import ConfigError


@pytest.mark.parametrize("value", [90, "90", " 90 ", 90.0])
def test_whole_days_are_accepted(value: object) -> None:
    assert check_horizon(value, 730) == 90


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "at least 1 day"),
        (-7, "at least 1 day"),
        ("-7", "at least 1 day"),
        ("1.5", "whole number of days"),
        (1.5, "whole number of days"),
        ("ninety", "whole number of days"),
        ("", "whole number of days"),
        (True, "whole number of days"),
        (float("nan"), "whole number of days"),
        (MAX_HORIZON_DAYS + 1, "at most 730 days"),
        (10**9, "at most 730 days"),
    ],
)
def test_bad_horizons_say_what_is_wrong(value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        check_horizon(value, 730)


def test_a_horizon_longer_than_the_history_supports_names_the_longest_that_works() -> None:
    with pytest.raises(ConfigError, match=r"spans 300 days.*needs at least 400.*--horizon-days 150 or less"):
        check_horizon(200, 300)
    assert check_horizon(150, 300) == 150


def test_a_history_of_one_day_asks_for_more_history() -> None:
    with pytest.raises(ConfigError, match="Load a longer order history"):
        check_horizon(1, 1)
