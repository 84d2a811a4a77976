"""Block-wise scaling: put behaviour features and text vectors on one footing, with weights.

A fused matrix is a side-by-side of blocks of very different shapes: a dozen scaled
behaviour columns and a few 384-dimensional text blocks. Left alone, the widest block
decides every distance. :class:`BlockNormaliser` scales each block so that its mean squared
row length (its share of squared distances) is ``weight ** 2``:

* **behaviour** (any block without ``evidence``): centred on its mean; with
  ``standardise=True`` each column is also divided by its standard deviation first, so that
  a bimodal column like recency weighs as much as a noisy one like the weekend share (the
  behaviour scaler keeps heavy-tailed columns' spread, which suits clustering behaviour
  alone but lets the noisiest columns dominate once text joins);
* **text** blocks (with ``evidence``, the number of items behind each row): rows are made
  unit length, centred on the mean of the customers *with* text, and shrunk towards that
  mean by ``evidence / (evidence + shrinkage)``. A taste read from one bought item is a
  noisy guess; one read from fifty is not. Customers without text sit exactly at the mean
  (zero after centring): "no information", not a point of their own. Without shrinkage
  one-item customers scatter over the taste space and K-Means splits them by accident.

Learned parameters are arrays and numbers (``to_state``), saved as safetensors + JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)


@dataclass
class BlockNormaliser:
    """Scale named blocks to weighted equal footing; see the module docstring.

    ``weights``: {block: weight} (missing blocks weigh 1); ``shrinkage``: pseudo-count of
    items for text blocks (0: no shrinkage); ``standardise``: z-score behaviour columns.
    """

    weights: dict[str, float] = field(default_factory=dict)
    shrinkage: float = 2.0
    standardise: bool = True
    blocks_: list[str] = field(default_factory=list)
    text_: dict[str, bool] = field(default_factory=dict)
    mean_: dict[str, np.ndarray] = field(default_factory=dict)
    column_scale_: dict[str, np.ndarray] = field(default_factory=dict)
    factor_: dict[str, float] = field(default_factory=dict)

    def fit(self, blocks: dict[str, np.ndarray], evidence: dict[str, np.ndarray] | None = None) -> BlockNormaliser:
        """Learn means and scales. ``blocks``: {name: (customers x dim)}; ``evidence``: {text block: (customers,)}."""
        evidence = evidence or {}
        self.blocks_, self.text_, self.mean_, self.column_scale_, self.factor_ = [], {}, {}, {}, {}
        for name, matrix in blocks.items():
            matrix = np.asarray(matrix, dtype=np.float64)
            if matrix.ndim != 2 or matrix.shape[1] == 0:
                continue
            is_text = name in evidence
            if is_text:
                rows = _unit_rows(matrix)
                has = np.asarray(evidence[name]) > 0
                if not has.any():
                    continue
                mean = rows[has].mean(axis=0)
                scale = np.ones(matrix.shape[1])
            else:
                mean = matrix.mean(axis=0)
                scale = matrix.std(axis=0) if self.standardise else np.ones(matrix.shape[1])
                scale = np.where(scale > 1e-12, scale, 1.0)
            self.blocks_.append(name)
            self.text_[name] = is_text
            self.mean_[name] = mean
            self.column_scale_[name] = scale
            self.factor_[name] = 1.0
            centred = self._centred(name, matrix, evidence.get(name))
            spread = float(np.sqrt((centred**2).sum(axis=1).mean()))
            weight = float(self.weights.get(name, 1.0))
            self.factor_[name] = weight / spread if spread > 1e-12 else 0.0
        return self

    def _centred(self, name: str, matrix: np.ndarray, evidence: np.ndarray | None) -> np.ndarray:
        if not self.text_[name]:
            return (matrix - self.mean_[name]) / self.column_scale_[name]
        count = np.zeros(len(matrix)) if evidence is None else np.asarray(evidence, dtype=np.float64)
        trust = np.where(count > 0, count / (count + self.shrinkage), 0.0) if self.shrinkage > 0 else (count > 0)
        return trust[:, None] * (_unit_rows(matrix) - self.mean_[name])

    def transform(self, blocks: dict[str, np.ndarray], evidence: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """The weighted side-by-side matrix (customers x sum of block dims), float64.

        A fitted block missing from ``blocks`` reads as "no information" (zeros after
        centring); for text blocks a missing ``evidence`` entry reads as no text.
        """
        evidence = evidence or {}
        lengths = {len(np.asarray(m)) for m in blocks.values()}
        if len(lengths) > 1:
            raise ValueError(f"blocks have different numbers of rows: {sorted(lengths)}")
        n = lengths.pop() if lengths else 0
        parts = []
        for name in self.blocks_:
            if name in blocks:
                matrix = np.asarray(blocks[name], dtype=np.float64)
                part = self._centred(name, matrix, evidence.get(name))
            else:
                part = np.zeros((n, len(self.mean_[name])))
            parts.append(self.factor_[name] * part)
        return np.hstack(parts) if parts else np.zeros((n, 0))

    def fit_transform(self, blocks: dict[str, np.ndarray], evidence: dict[str, np.ndarray] | None = None) -> np.ndarray:
        return self.fit(blocks, evidence).transform(blocks, evidence)

    # --- persistence: arrays + JSON-able parameters ------------------------------------
    def to_state(self) -> tuple[dict[str, object], dict[str, np.ndarray]]:
        """(JSON-able parameters, named arrays)."""
        params = {
            "weights": dict(self.weights),
            "shrinkage": self.shrinkage,
            "standardise": self.standardise,
            "blocks": list(self.blocks_),
            "text": dict(self.text_),
            "factor": dict(self.factor_),
        }
        arrays = {f"blocks.{name}.mean": self.mean_[name] for name in self.blocks_}
        arrays |= {f"blocks.{name}.column_scale": self.column_scale_[name] for name in self.blocks_}
        return params, arrays

    @classmethod
    def from_state(cls, params: dict[str, object], arrays: dict[str, np.ndarray]) -> BlockNormaliser:
        blocks = list(params["blocks"])
        return cls(
            weights={k: float(v) for k, v in dict(params["weights"]).items()},
            shrinkage=float(params["shrinkage"]),
            standardise=bool(params["standardise"]),
            blocks_=blocks,
            text_={k: bool(v) for k, v in dict(params["text"]).items()},
            mean_={name: np.asarray(arrays[f"blocks.{name}.mean"], dtype=np.float64) for name in blocks},
            column_scale_={
                name: np.asarray(arrays[f"blocks.{name}.column_scale"], dtype=np.float64) for name in blocks
            },
            factor_={k: float(v) for k, v in dict(params["factor"]).items()},
        )

    def block_slices(self) -> dict[str, slice]:
        """Where each block's columns are in the transformed matrix."""
        slices, start = {}, 0
        for name in self.blocks_:
            width = len(self.mean_[name])
            slices[name] = slice(start, start + width)
            start += width
        return slices
