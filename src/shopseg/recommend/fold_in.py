"""ALS product factors learned once, customers folded in later: recommendations for everybody.

The recommend step chooses among several models and serves the customers it was fitted on.
A shop larger than memory (``segment --engine chunked``) is fitted on a sample, so the other
customers need a model that can score people it has never seen, one chunk at a time. This is
the standard answer for implicit-feedback ALS (Hu, Koren & Volinsky 2008), by the
``implicit`` library:

* :meth:`FoldInALS.fit` learns product factors from the purchase lines of the customers given
  (the fitted sample): lines per customer and product (returns left out), confidence
  ``1 + alpha * log1p(lines)``, the settings of the Spark engine's MLlib ALS;
* :meth:`FoldInALS.recommend` folds any customers in: with the product factors held fixed,
  each customer's factors are the exact least-squares solution for their own purchases
  (``AlternatingLeastSquares.recalculate_user``, the half-step ALS itself alternates), and
  their exact top ``n`` products not yet bought come from
  :func:`~shopseg.recommend.topn.top_unbought`.

The same model answers ``POST /assign`` of the API: a new customer's order lines are folded
in and their recommendations come back with their segment. :meth:`FoldInALS.save` writes
``fold_in.json`` (settings, product ids) and ``fold_in.safetensors`` (the factors); never pickle.

So the products and their factors are the same for every chunk, a customer's
recommendations do not depend on who else is in their chunk, and memory is bounded by the
chunk. Products nobody in the sample bought have no factors: they are not recommended and
their lines do not inform a customer's factors.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopseg import schema as s
from shopseg.errors import ShopsegError
from shopseg.recommend.als import _require_implicit
from shopseg.recommend.base import empty_recommendations
from shopseg.recommend.topn import ranks, top_unbought

if TYPE_CHECKING:
    from implicit.cpu.als import AlternatingLeastSquares

REASON = "customers with similar purchases bought it (ALS)"
JSON_FILE, ARRAYS_FILE = "fold_in.json", "fold_in.safetensors"
FORMAT_VERSION = 1


def purchase_lines(orders: pd.DataFrame) -> pd.DataFrame:
    """customer_id, product_id, lines: purchase lines per customer and product (returns left out)."""
    if s.PRODUCT_ID not in orders.columns:
        raise ShopsegError("Recommendations need product ids on the order lines (column 'product_id').")
    bought = orders[orders[s.PRODUCT_ID].notna()]
    if s.IS_RETURN in bought.columns:
        bought = bought[~bought[s.IS_RETURN].fillna(False).astype(bool)]
    counts = bought.groupby([s.CUSTOMER_ID, s.PRODUCT_ID], observed=True, sort=True).size()
    return counts.rename("lines").reset_index()


@dataclass(frozen=True)
class ALSSettings:
    """Settings of the implicit-feedback ALS that recommends to everybody (chunked and Spark engines)."""

    factors: int = 32
    regularization: float = 0.05
    alpha: float = 10.0
    iterations: int = 10
    seed: int = 0


@dataclass
class FoldInALS:
    """Product factors from :meth:`fit`, any customers scored by :meth:`recommend`; see the module docstring."""

    settings: ALSSettings = field(default_factory=ALSSettings)
    product_ids_: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object), repr=False)
    product_factors_: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32), repr=False)

    def _model(self) -> AlternatingLeastSquares:
        from implicit.cpu.als import AlternatingLeastSquares

        settings = self.settings
        return AlternatingLeastSquares(
            factors=settings.factors,
            regularization=settings.regularization,
            alpha=settings.alpha,
            iterations=settings.iterations,
            random_state=settings.seed,
        )

    def _matrix(self, lines: pd.DataFrame, customers: pd.Index, columns: np.ndarray) -> sp.csr_matrix:
        rows = customers.get_indexer(lines[s.CUSTOMER_ID])
        return sp.csr_matrix(
            (np.log1p(lines["lines"].to_numpy(dtype=np.float32)), (rows, columns)),
            shape=(len(customers), len(self.product_ids_)),
            dtype=np.float32,
        )

    def fit(self, orders: pd.DataFrame) -> FoldInALS:
        """Learn product factors from the purchases in canonical ``orders``."""
        _require_implicit()
        from threadpoolctl import threadpool_limits

        lines = purchase_lines(orders)
        if lines.empty:
            raise ShopsegError("No purchases to learn recommendations from.")
        self.product_ids_ = np.array(sorted(lines[s.PRODUCT_ID].astype(str).unique()), dtype=object)
        columns = pd.Index(self.product_ids_).get_indexer(lines[s.PRODUCT_ID].astype(str))
        customers = pd.Index(lines[s.CUSTOMER_ID].unique())
        with threadpool_limits(1, "blas"):  # implicit's own threads; BLAS inside them would oversubscribe
            model = self._model()
            model.fit(self._matrix(lines, customers, columns), show_progress=False)
        self.product_factors_ = np.ascontiguousarray(model.item_factors, dtype=np.float32)
        return self

    def recommend(self, orders: pd.DataFrame, n: int = 10) -> pd.DataFrame:
        """Top ``n`` products not yet bought for every customer with a purchase of a known product.

        Columns of ``recommendations.parquet``: customer_id, rank (1 = best), product_id, score, reason.
        """
        if n < 1:
            raise ShopsegError(f"--recommend-n must be at least 1, got {n}.")
        if len(self.product_ids_) == 0:
            raise ShopsegError("This FoldInALS is not fitted yet: call fit(orders) first.")
        lines = purchase_lines(orders)
        columns = pd.Index(self.product_ids_).get_indexer(lines[s.PRODUCT_ID].astype(str))
        lines, columns = lines[columns >= 0], columns[columns >= 0]
        if lines.empty:
            return empty_recommendations()
        customers = pd.Index(lines[s.CUSTOMER_ID].unique())
        matrix = self._matrix(lines, customers, columns)
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1, "blas"):
            model = self._model()
            model.item_factors = self.product_factors_
            factors = model.recalculate_user(np.arange(len(customers)), matrix)
        bought = np.split(matrix.indices, matrix.indptr[1:-1])
        rows, items, scores = top_unbought(np.asarray(factors, dtype=np.float32), bought, self.product_factors_, n)
        return pd.DataFrame(
            {
                s.CUSTOMER_ID: customers.to_numpy(dtype=object)[rows],
                "rank": ranks(rows),
                s.PRODUCT_ID: self.product_ids_[items],
                "score": scores,
                "reason": REASON,
            }
        )

    # --- persistence: JSON + safetensors, never pickle ---------------------------------
    def save(self, folder: str | Path) -> Path:
        """Write ``fold_in.json`` and ``fold_in.safetensors`` into ``folder``; returns the JSON path."""
        from safetensors.numpy import save_file

        if len(self.product_ids_) == 0:
            raise ShopsegError("This FoldInALS is not fitted yet: nothing to save.")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_file({"product_factors": np.ascontiguousarray(self.product_factors_)}, folder / ARRAYS_FILE)
        document = {
            "format_version": FORMAT_VERSION,
            "settings": asdict(self.settings),
            "product_ids": [str(p) for p in self.product_ids_],
        }
        path = folder / JSON_FILE
        path.write_text(json.dumps(document))
        return path

    @classmethod
    def load(cls, folder: str | Path) -> FoldInALS:
        """A fitted model from a folder written by :meth:`save`."""
        from safetensors.numpy import load_file

        folder = Path(folder)
        path = folder / JSON_FILE
        if not path.exists() or not (folder / ARRAYS_FILE).exists():
            raise ShopsegError(f"{folder}: no {JSON_FILE} + {ARRAYS_FILE} here; it was not written by FoldInALS.save.")
        document = json.loads(path.read_text())
        if document.get("format_version") != FORMAT_VERSION:
            raise ShopsegError(f"{path}: format version {document.get('format_version')} is not supported.")
        model = cls(ALSSettings(**document["settings"]))
        model.product_ids_ = np.array(document["product_ids"], dtype=object)
        model.product_factors_ = np.asarray(load_file(str(folder / ARRAYS_FILE))["product_factors"], dtype=np.float32)
        if model.product_factors_.shape[0] != len(model.product_ids_):
            counts = f"{len(model.product_ids_)} product ids but {len(model.product_factors_)} rows of factors"
            raise ShopsegError(f"{folder}: {counts}.")
        return model
