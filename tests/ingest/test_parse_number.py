"""Number parsing: the one-call path for plain numbers and the tolerant path agree."""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopseg.ingest.validate import parse_number


def parsed(values: list[str]) -> list[float]:
    return parse_number(pd.Series(values, dtype=object)).tolist()


def test_plain_numbers_and_blanks() -> None:
    result = parsed(["12", "-3.5", "1e3", ""])
    assert result[:3] == [12.0, -3.5, 1000.0] and np.isnan(result[3])
    assert parse_number(pd.Series(["1", "2"], dtype=object)).dtype == "float64"


def test_currency_thousands_spaces_and_decimal_commas() -> None:
    assert parsed(["$12.50", "1,234.5", " 7 ", "8"]) == [12.5, 1234.5, 7.0, 8.0]
    assert parsed(["19,90", "1.234,50", "3"]) == [19.9, 1234.5, 3.0]
    result = parsed(["abc", "4"])
    assert np.isnan(result[0]) and result[1] == 4.0
