"""Robust scaling for customer features, with log transforms for heavy tails.

Spend and frequency are heavy-tailed: a few customers spend a hundred times the median.
Unscaled, they would decide every segment alone; scaled by variance, one whale would.
So each column is

1. ``log1p``-transformed when it is non-negative and right-skewed (skewness > 1);
2. centred on its median and divided by its interquartile range (by its standard
   deviation when the IQR is 0, e.g. a mostly-zero share);
3. clipped to +-``clip`` so that no single outlier forms a segment of its own.

Constant columns carry no information and are dropped. The fitted parameters are plain
numbers (:meth:`to_dict`), so a saved model is JSON, never pickle.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass
class RobustLogScaler:
    """Scikit-learn-style scaler over a DataFrame; learned attributes end in ``_``."""

    skew_threshold: float = 1.0
    clip: float = 5.0
    columns_: list[str] = field(default_factory=list)
    log_: list[bool] = field(default_factory=list)
    center_: list[float] = field(default_factory=list)
    scale_: list[float] = field(default_factory=list)

    def fit(self, frame: pd.DataFrame) -> RobustLogScaler:
        self.columns_, self.log_, self.center_, self.scale_ = [], [], [], []
        for column in frame.columns:
            values = frame[column].to_numpy(dtype="float64")
            use_log = bool(values.min() >= 0 and pd.Series(values).skew() > self.skew_threshold)
            if use_log:
                values = np.log1p(values)
            q25, median, q75 = np.percentile(values, [25, 50, 75])
            scale = q75 - q25
            if scale <= 1e-12:
                scale = values.std()
            if scale <= 1e-12:
                continue  # constant: no information
            self.columns_.append(column)
            self.log_.append(use_log)
            self.center_.append(float(median))
            self.scale_.append(float(scale))
        return self

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Scaled matrix (customers x kept columns); missing columns read as 0."""
        values = frame.reindex(columns=self.columns_, fill_value=0.0).to_numpy(dtype="float64", copy=True)
        logged = np.array(self.log_, dtype=bool)
        values[:, logged] = np.log1p(np.clip(values[:, logged], 0, None))
        scaled = (values - np.array(self.center_)) / np.array(self.scale_)
        return np.clip(scaled, -self.clip, self.clip)

    def fit_transform(self, frame: pd.DataFrame) -> np.ndarray:
        return self.fit(frame).transform(frame)

    def to_dict(self) -> dict[str, object]:
        return {
            "skew_threshold": self.skew_threshold,
            "clip": self.clip,
            "columns": self.columns_,
            "log": self.log_,
            "center": self.center_,
            "scale": self.scale_,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> RobustLogScaler:
        return cls(
            skew_threshold=float(data["skew_threshold"]),
            clip=float(data["clip"]),
            columns_=list(data["columns"]),
            log_=[bool(x) for x in data["log"]],
            center_=[float(x) for x in data["center"]],
            scale_=[float(x) for x in data["scale"]],
        )
