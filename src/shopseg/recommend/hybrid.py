"""The hybrid: a weighted blend of the other recommenders, weights tuned on a validation split.

Each component's scores are scaled to [0, 1] per customer (min-max over the products the
customer has not bought -- their own purchases top every history-based score and would squash
the candidates -- so a cosine, a factor dot product and a popularity share become comparable)
and summed with weights. The segment enters as a prior: ``segment_popular`` is a component, so a customer
with a thin history leans on what their segment buys, and one with a rich history on their
own neighbours and factors.

Weights (unless given) are tuned on the training data itself, never on the test period: the
last ``validation_days`` (default: min(30, 10 % of the history), as the evaluation) are held
out, every component is fitted on the days before, and a coordinate search over ``grid``
maximises NDCG@10 of the blend for (up to ``max_validation_customers``, a seeded sample of)
the customers who bought in the validation period. The search starts from equal weights,
tries every grid value for one component at a time, keeps a change only when it beats the
best so far by ``min_gain`` (relative: 0.5 %, so the search does not chase the noise of a few
thousand customers -- on a 100,000-customer shop an unguarded search once dropped ALS for a
0.3 % validation gain that the test period reversed), and stops after ``rounds`` passes or a
pass without improvement; each step is recorded in ``tuning_``. The
components are then refitted on all the training data with the chosen weights.

Customers with purchases and customers without any (cold start: they only browsed or
reviewed, or are unknown) need different blends -- for the latter, collaborative scores rest
on a few views -- so the search runs twice: ``weights_`` on validation customers who had
bought before the validation cut, ``cold_weights_`` on those who had not (when there are at
least :data:`MIN_VALIDATION_CUSTOMERS`; otherwise the warm weights serve both).

The reason of a hybrid recommendation is the reason of the component that contributed most to
its blended score.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopseg.errors import ConfigError
from shopseg.recommend.als import ALSRecommender, BPRRecommender, implicit_available
from shopseg.recommend.base import BATCH_CELLS, Recommender, Segments, minmax_rows, resolve_segments, top_n
from shopseg.recommend.content import ContentRecommender
from shopseg.recommend.interactions import Interactions
from shopseg.recommend.item_knn import ItemKNNRecommender
from shopseg.recommend.metrics import mean_ndcg
from shopseg.recommend.popular import PopularRecommender, SegmentPopularRecommender
from shopseg.recommend.split import holdout_days

#: Models a hybrid can blend, by name.
COMPONENTS: Mapping[str, type[Recommender]] = {
    "popular": PopularRecommender,
    "segment_popular": SegmentPopularRecommender,
    "item_knn": ItemKNNRecommender,
    "als": ALSRecommender,
    "bpr": BPRRecommender,
    "content": ContentRecommender,
}
DEFAULT_COMPONENTS = ("segment_popular", "item_knn", "als", "content")
DEFAULT_GRID = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)
#: Fewer validation customers than this cannot tell weights apart: equal weights are used.
MIN_VALIDATION_CUSTOMERS = 20
TUNING_K = 10


class HybridRecommender(Recommender):
    """Blend of normalised component scores; see the module docstring.

    ``components``: names from :data:`COMPONENTS`. ``weights``: {name: weight} to skip tuning.
    ``component_params``: {name: {parameter: value}} for the components (e.g.
    ``{"content": {"product_vectors": frame}}``). Learned: ``components_`` (fitted models),
    ``weights_`` and ``cold_weights_`` (customers with / without purchases), ``tuning_`` (split,
    customers, every step tried, the result).
    """

    name: ClassVar[str] = "hybrid"
    reason: ClassVar[str] = "recommended for you"

    def __init__(
        self,
        *,
        components: Sequence[str] = DEFAULT_COMPONENTS,
        weights: Mapping[str, float] | None = None,
        component_params: Mapping[str, Mapping[str, Any]] | None = None,
        validation_days: float | None = None,
        grid: Sequence[float] = DEFAULT_GRID,
        rounds: int = 2,
        min_gain: float = 0.005,
        max_validation_customers: int = 5000,
        repeat_categories: Iterable[str] | None = None,
        random_state: int = 0,
    ) -> None:
        self.components = components
        self.weights = weights
        self.component_params = component_params
        self.validation_days = validation_days
        self.grid = grid
        self.rounds = rounds
        self.min_gain = min_gain
        self.max_validation_customers = max_validation_customers
        self.repeat_categories = repeat_categories
        self.random_state = random_state

    # --- building and fitting --------------------------------------------------------
    def _component_names(self) -> list[str]:
        names = list(dict.fromkeys(self.components))
        unknown = [n for n in names if n not in COMPONENTS]
        if unknown or not names:
            raise ConfigError(
                f"Unknown hybrid component(s) {unknown or '(none given)'}; choose from {', '.join(COMPONENTS)}."
            )
        self.notes_: list[str] = []
        if not implicit_available():
            dropped = [n for n in names if n in ("als", "bpr")]
            if dropped:
                names = [n for n in names if n not in dropped]
                self.notes_.append(f"'implicit' is not installed: {', '.join(dropped)} left out of the hybrid.")
        return names

    def _build(self, names: list[str]) -> dict[str, Recommender]:
        params = dict(self.component_params or {})
        built = {}
        for name in names:
            options = {"repeat_categories": self.repeat_categories, "random_state": self.random_state}
            options.update(params.get(name, {}))
            built[name] = COMPONENTS[name](**options)
        return built

    def _fit(self, data: Interactions, *, segments: Segments, taste: pd.DataFrame | None) -> None:
        names = self._component_names()
        current = resolve_segments(segments, data)  # resolved once here, not once per component
        if self.weights is not None:
            missing = [n for n in names if n not in self.weights]
            if missing:
                raise ConfigError(f"weights must name every component; missing: {', '.join(missing)}.")
            self.weights_ = {n: float(self.weights[n]) for n in names}
            self.cold_weights_ = dict(self.weights_)
            self.tuning_: dict[str, Any] = {"tuned": False, "weights": self.weights_}
        else:
            self.weights_, self.cold_weights_, self.tuning_ = self._tune(data, names, segments)
        if not any(w > 0 for w in self.weights_.values()):
            raise ConfigError("At least one hybrid weight must be positive.")
        self.has_purchases_ = np.diff(data.purchases.indptr) > 0
        self.components_ = self._build(names)
        for model in self.components_.values():
            model.fit(data, segments=current, taste=taste)

    def _warm_customers(self) -> np.ndarray:
        return np.ones(self.interactions_.n_customers, dtype=bool)

    # --- tuning ----------------------------------------------------------------------
    def _tune(
        self, data: Interactions, names: list[str], segments: Segments
    ) -> tuple[dict[str, float], dict[str, float], dict[str, Any]]:
        """Coordinate search of warm and cold weights on a validation split; see the module docstring."""
        equal = {n: 1.0 for n in names}
        if data.reference_ts is None:
            return equal, equal, {"tuned": False, "why": "no dated interactions", "weights": equal}
        days = holdout_days(data, self.validation_days)
        cut = data.reference_ts - pd.Timedelta(days=days)
        inner = data.until(cut)
        target = data.purchased_between(cut)
        buyers = np.diff(target.indptr) > 0
        had_purchases = np.diff(inner.purchases.indptr) > 0
        report: dict[str, Any] = {"tuned": False, "validation_days": days, "cut": str(cut)}
        cap = min(self.max_validation_customers, max(200, 3 * BATCH_CELLS // max(data.n_products, 1)))
        rng = np.random.default_rng(self.random_state)
        groups = {}
        for group, members in (("warm", buyers & had_purchases), ("cold", buyers & ~had_purchases)):
            candidates = np.flatnonzero(members)
            chosen = rng.choice(candidates, size=min(cap, len(candidates)), replace=False)
            groups[group] = np.sort(chosen)
        if len(groups["warm"]) < MIN_VALIDATION_CUSTOMERS or len(names) == 1:
            report.update(why=f"{len(groups['warm'])} validation customers", weights=equal, cold_weights=equal)
            return equal, equal, report

        models = self._build(names)
        inner_segments = resolve_segments(segments, inner)
        for model in models.values():
            model.fit(inner, segments=inner_segments)
        weights, steps = self._search(names, models, groups["warm"], target)
        report.update(tuned=True, customers=len(groups["warm"]), start_ndcg=steps[0]["ndcg@10"])
        report.update(best_ndcg=max(step["ndcg@10"] for step in steps), weights=weights, steps=steps)
        cold_weights = weights
        if len(groups["cold"]) >= MIN_VALIDATION_CUSTOMERS:
            cold_weights, cold_steps = self._search(names, models, groups["cold"], target)
            report.update(cold_customers=len(groups["cold"]), cold_weights=cold_weights, cold_steps=cold_steps)
            report["cold_best_ndcg"] = max(step["ndcg@10"] for step in cold_steps)
        else:
            report.update(cold_customers=len(groups["cold"]), cold_weights=cold_weights)
            report["cold_why"] = "too few cold validation customers: the warm weights serve them"
        return weights, cold_weights, report

    def _search(
        self, names: list[str], models: dict[str, Recommender], rows: np.ndarray, target: Any
    ) -> tuple[dict[str, float], list[dict[str, Any]]]:
        """Coordinate ascent of NDCG@10 over ``grid`` for customer ``rows``; returns weights and steps."""
        bought = next(iter(models.values())).bought_mask(rows)
        parts = {}
        for name, model in models.items():
            scores, _, _ = model.scores_for(rows, model.segment_codes_[rows])
            parts[name] = minmax_rows(scores, ignore=bought)
        excluded = np.where(bought, -np.inf, 0.0).astype(np.float32)
        relevant = target[rows]

        def quality(weights: dict[str, float]) -> float:
            blend = excluded.copy()
            for name, weight in weights.items():
                if weight:
                    blend += np.float32(weight) * parts[name]
            return mean_ndcg(top_n(blend, TUNING_K)[0], relevant)

        weights = {n: 1.0 for n in names}
        best = quality(weights)
        steps = [{"weights": dict(weights), "ndcg@10": round(best, 6)}]
        for _ in range(self.rounds):
            improved = False
            for name in names:
                for value in self.grid:
                    if value == weights[name]:
                        continue
                    trial = {**weights, name: float(value)}
                    if not any(trial.values()):
                        continue
                    score = quality(trial)
                    steps.append({"weights": trial, "ndcg@10": round(score, 6)})
                    if score > best * (1.0 + self.min_gain) + 1e-12:
                        weights, best, improved = trial, score, True
            if not improved:
                break
        return weights, steps

    # --- scoring ---------------------------------------------------------------------
    def _score(self, rows: np.ndarray) -> np.ndarray:
        return self._score_with_context(rows)[0]

    def _score_with_context(self, rows: np.ndarray) -> tuple[np.ndarray, Any]:
        codes = self.segment_codes_[rows]
        total = np.zeros((len(rows), self.interactions_.n_products), dtype=np.float32)
        parts = []
        has_purchases = self.has_purchases_[rows]
        bought = self.bought_mask(rows)
        for name, model in self.components_.items():
            weight = np.where(has_purchases, self.weights_[name], self.cold_weights_[name]).astype(np.float32)
            if not (weight > 0).any():
                continue
            scores, warm, context = model.scores_for(rows, codes)
            weighted = minmax_rows(scores, ignore=bought)
            weighted *= weight[:, None]
            total += weighted
            parts.append((model, weighted, warm, context))
        return total, parts

    def column_scores(self, rows: np.ndarray, column: int) -> tuple[np.ndarray, np.ndarray]:
        """One product's blended score across customers, for audiences.

        Recommending normalises per customer (which product suits *this* customer); an audience
        compares customers for one product, so each component's scores are min-max scaled over
        the customers instead, with no evidence (a component's cold customers) at its minimum.
        Customers without any history are not warm.
        """
        has_purchases = self.has_purchases_[rows]
        total = np.zeros(len(rows), dtype=np.float64)
        for name, model in self.components_.items():
            weight = np.where(has_purchases, self.weights_[name], self.cold_weights_[name])
            if not (weight > 0).any():
                continue
            scores, warm = model.column_scores(rows, column)
            scores = np.where(warm, scores, scores[warm].min() if warm.any() else 0.0)
            span = scores.max() - scores.min() if len(scores) else 0.0
            total += weight * ((scores - scores.min()) / span if span > 0 else np.zeros_like(scores))
        history = self.interactions_.purchases + self.interactions_.signals
        return total, np.diff(sp.csr_matrix(history).indptr)[rows] > 0

    def _explain(self, rows: np.ndarray, items: np.ndarray, context: Any) -> np.ndarray:
        """The reason of the component with the largest weighted share of each pair's score."""
        codes = self.segment_codes_[rows]
        shares = np.stack([np.take_along_axis(weighted, items, axis=1) for _, weighted, _, _ in context])
        leader = shares.argmax(axis=0)
        reasons = np.full(items.shape, self.reason, dtype=object)
        for position, (model, _, warm, part_context) in enumerate(context):
            chosen = leader == position
            picked = chosen.any(axis=1)
            if not picked.any():
                continue
            explained = model.explain_for(rows[picked], codes[picked], warm[picked], items[picked], part_context)
            reasons[picked] = np.where(chosen[picked], explained, reasons[picked])
        return reasons
