"""Supervised churn and high-value prediction, evaluated against baselines on held-out customers.

Targets, from the holdout period that follows calibration (:mod:`shopseg.value.summary`):

* ``churn`` -- no purchase in the holdout window;
* ``high_value`` -- in the top 20 % of holdout spend (spend >= the 80th percentile and
  > 0; when over 80 % spend nothing this is simply "bought in the holdout").

Features are known at the end of calibration: the behavioural features
(:func:`shopseg.features.behaviour.behaviour_features` with the reference moment at the
end of calibration) plus the transaction model's outputs (P(alive), expected purchases and
P(no purchase) in a window as long as the holdout) and the expected spend over that window.

The model is scikit-learn's HistGradientBoostingClassifier wrapped in
CalibratedClassifierCV (isotonic, 3 folds) so its probabilities can be read as
probabilities (Brier score). :func:`evaluate_outcomes` splits *customers* (stratified,
seeded) into train and test and scores, on the same test customers:

========================= ================================================================
gradient_boosting         the model above
recency_only              logistic regression on log1p(recency_days) alone
model_no_order            the transaction model's own P(no order in the window) (churn; no
                          fitting): the churn baseline a classifier has to beat
model_p_dead              1 - P(alive) used as the churn probability as it is (no rescaling,
                          so an inverted score shows as AUC < 0.5: in BG/NBD every one-time
                          buyer has P(alive) = 1 although they churn most)
model_expected_spend      expected purchases x expected spend (high value), Platt-scaled
lstm                      :mod:`shopseg.value.sequence` (when PyTorch is installed)
========================= ================================================================

Metrics: ROC AUC, PR AUC (average precision) and Brier score (lower is better).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from shopseg import schema as s
from shopseg.features.behaviour import behaviour_features
from shopseg.value.summary import PeriodSplit
from shopseg.value.transaction import TransactionModel

CHURN = "churn"
HIGH_VALUE = "high_value"
TARGETS = (CHURN, HIGH_VALUE)
TOP_SHARE = 0.2
#: A target needs at least this many customers in its smaller class to train a model.
MIN_CLASS_SIZE = 10
#: Below this many customers the booster runs on one thread by default (see OutcomeClassifier).
SINGLE_THREAD_BELOW = 100_000

#: Baselines Platt-scaled on the train split: {target: {name: feature column}}.
BASELINE_SCORES = {
    CHURN: {"recency_only": "recency_days"},
    HIGH_VALUE: {"recency_only": "recency_days", "model_expected_spend": "model_expected_spend"},
}
#: Baselines that already are probabilities, scored as they are: {target: {name: feature column}}.
RAW_BASELINES = {CHURN: {"model_no_order": "model_p_no_purchase", "model_p_dead": "model_p_dead"}, HIGH_VALUE: {}}
#: The churn baseline a classifier must beat (AUC and Brier) before its churn risk is used.
CHURN_BASELINE = "model_no_order"


def outcome_labels(summary: pd.DataFrame, *, top_share: float = TOP_SHARE) -> pd.DataFrame:
    """Holdout targets per customer (index as ``summary``): churn, high_value (bool) and spend_holdout.

    ``summary`` needs frequency_holdout and spend_holdout (a summary with a holdout).
    """
    spend = summary["spend_holdout"].astype("float64")
    threshold = float(np.quantile(spend, 1.0 - top_share)) if len(spend) else 0.0
    return pd.DataFrame(
        {
            CHURN: summary["frequency_holdout"] == 0,
            HIGH_VALUE: (spend >= threshold) & (spend > 0),
            "spend_holdout": spend,
        },
        index=summary.index,
    )


def model_features(
    orders: pd.DataFrame,
    summary: pd.DataFrame,
    split: PeriodSplit,
    model: TransactionModel,
    expected_spend: np.ndarray,
    *,
    window_days: float,
    share_priors: dict[str, float] | None = None,
) -> pd.DataFrame:
    """Features known at the end of ``split``'s calibration, one row per customer of ``summary``.

    ``share_priors``: the shop shares habit shares are shrunk towards (default: from
    ``orders``); fixed when scoring part of a shop, so a customer's features do not depend on
    who else is scored with them.

    ``orders`` are canonical order lines (only lines up to the end of calibration are
    used); ``summary`` is the calibration summary in days; ``expected_spend`` (n,) the
    expected spend per purchase. The model's columns look ``window_days`` ahead. Float columns.
    """
    reference = split.holdout_start
    past = orders.loc[orders[s.TS] < reference]
    features = behaviour_features(past, reference_ts=reference, share_priors=share_priors)
    features = features.reindex(summary.index).fillna(0.0)
    x, t_x, age = (summary[c].to_numpy(dtype="float64") for c in ("frequency", "recency", "T"))
    p_alive = model.p_alive(x, t_x, age)
    expected = model.conditional_expected_purchases(window_days, x, t_x, age)
    features["model_frequency"] = x
    features["model_recency"] = t_x
    features["model_T"] = age
    features["model_p_alive"] = p_alive
    features["model_p_dead"] = 1.0 - p_alive
    features["model_expected_orders"] = expected
    features["model_p_no_purchase"] = model.p_no_purchase(window_days, x, t_x, age)
    features["expected_spend_per_order"] = expected_spend
    features["model_expected_spend"] = expected * expected_spend
    return features.astype("float64")


@dataclass
class OutcomeClassifier:
    """Calibrated gradient boosting for one binary target; ``predict_proba`` gives P(target).

    When the smaller class has fewer than :data:`MIN_CLASS_SIZE` customers no model can
    be trained and calibrated; the classifier then predicts the training prevalence for
    everyone (``constant_`` is True) rather than failing.
    """

    method: str = "isotonic"
    cv: int = 3
    max_iter: int = 100
    learning_rate: float = 0.1
    random_state: int = 0
    #: OpenMP threads for the booster. None: 1 below :data:`SINGLE_THREAD_BELOW` customers
    #: (thread start-up and synchronisation outweigh the work there; on a busy 2-core
    #: machine all threads were 7x slower than one at 300 customers), all cores above.
    n_threads: int | None = None

    model_: CalibratedClassifierCV | None = field(default=None, repr=False)
    columns_: list[str] = field(default_factory=list, repr=False)
    prevalence_: float = field(default=0.0, repr=False)
    constant_: bool = field(default=False, repr=False)

    def fit(self, features: pd.DataFrame, target: object) -> OutcomeClassifier:
        y = np.asarray(target, dtype="int64")
        self.columns_ = list(features.columns)
        self.prevalence_ = float(y.mean()) if y.size else 0.0
        self.constant_ = min(int(y.sum()), int((1 - y).sum())) < MIN_CLASS_SIZE
        if self.constant_:
            self.model_ = None
            return self
        booster = HistGradientBoostingClassifier(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=15,
            min_samples_leaf=40,
            l2_regularization=1.0,
            early_stopping=False,
            random_state=self.random_state,
        )
        self.model_ = CalibratedClassifierCV(booster, method=self.method, cv=self.cv)
        with threadpool_limits(limits=self._threads(len(features))):
            self.model_.fit(features.to_numpy(dtype="float64"), y)
        return self

    def _threads(self, rows: int) -> int | None:
        if self.n_threads is not None:
            return self.n_threads
        return 1 if rows < SINGLE_THREAD_BELOW else None

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        """P(target) per row of ``features`` (same columns as at fit), shape (n,)."""
        if self.constant_ or self.model_ is None:
            return np.full(len(features), self.prevalence_)
        matrix = features.reindex(columns=self.columns_, fill_value=0.0).to_numpy(dtype="float64")
        with threadpool_limits(limits=self._threads(len(features))):
            return np.clip(self.model_.predict_proba(matrix)[:, 1], 0.0, 1.0)


def platt(train_score: np.ndarray, train_y: np.ndarray, test_score: np.ndarray) -> np.ndarray:
    """Probabilities from one score by logistic regression fitted on the train split (monotone: same AUC)."""
    if len(np.unique(train_y)) < 2:
        return np.full(len(test_score), float(np.mean(train_y)) if len(train_y) else 0.0)
    model = LogisticRegression().fit(train_score.reshape(-1, 1), train_y)
    return model.predict_proba(test_score.reshape(-1, 1))[:, 1]


def score(y_true: np.ndarray, probability: np.ndarray) -> dict[str, float | None]:
    """AUC, PR-AUC and Brier of probabilities; AUCs are None when the test set has one class."""
    y = np.asarray(y_true, dtype="int64")
    both = len(np.unique(y)) == 2
    return {
        "auc": float(roc_auc_score(y, probability)) if both else None,
        "pr_auc": float(average_precision_score(y, probability)) if both else None,
        "brier": float(brier_score_loss(y, np.clip(probability, 0.0, 1.0))),
    }


@dataclass
class OutcomeEvaluation:
    """Holdout metrics (one row per target and model) and notes on what was skipped."""

    metrics: pd.DataFrame
    notes: list[str]

    def records(self) -> list[dict[str, object]]:
        """Metrics as JSON-ready rows (None for undefined values)."""
        frame = self.metrics.reset_index()
        return [
            {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
            for row in frame.to_dict("records")
        ]


def split_customers(
    labels: pd.DataFrame, *, test_size: float = 0.3, random_state: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Positions of train and test customers, stratified on churn when both classes are common enough."""
    positions = np.arange(len(labels))
    churn = labels[CHURN].to_numpy()
    stratify = churn if min(churn.sum(), (~churn).sum()) >= 2 else None
    train, test = train_test_split(positions, test_size=test_size, random_state=random_state, stratify=stratify)
    return np.sort(train), np.sort(test)


def evaluate_outcomes(
    features: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    sequences: tuple[np.ndarray, np.ndarray] | None = None,
    test_size: float = 0.3,
    random_state: int = 0,
    lstm_epochs: int = 6,
    n_threads: int | None = None,
) -> OutcomeEvaluation:
    """Train on some customers, score every model and baseline on the others (see module docstring).

    ``features`` and ``labels`` share their index (customers of the calibration summary);
    ``sequences`` = (inputs, lengths) from :func:`shopseg.value.sequence.purchase_sequences`
    in the same row order adds the LSTM (skipped with a note when PyTorch is missing).
    ``n_threads`` limits the booster's OpenMP threads (None: see :class:`OutcomeClassifier`).
    """
    from shopseg.value import sequence

    notes: list[str] = []
    train, test = split_customers(labels, test_size=test_size, random_state=random_state)
    if len(test) == 0 or len(train) == 0:
        return OutcomeEvaluation(pd.DataFrame(), ["too few customers to hold some out for evaluation"])
    x_train, x_test = features.iloc[train], features.iloc[test]
    rows: list[dict[str, object]] = []
    lstm_probabilities: np.ndarray | None = None
    if sequences is not None and sequence.TORCH_AVAILABLE:
        inputs, lengths = sequences
        targets = labels[list(TARGETS)].to_numpy(dtype="float32")
        lstm = sequence.SequenceClassifier(epochs=lstm_epochs, random_state=random_state)
        lstm.fit(inputs[train], lengths[train], targets[train])
        lstm_probabilities = lstm.predict_proba(inputs[test], lengths[test])
    elif sequences is not None:
        notes.append("LSTM baseline skipped: PyTorch is not installed (pip install torch).")

    for position, target in enumerate(TARGETS):
        y = labels[target].to_numpy(dtype="int64")
        y_train, y_test = y[train], y[test]
        base = {"target": target, "n_test": len(test), "prevalence": float(y_test.mean())}
        classifier = OutcomeClassifier(random_state=random_state, n_threads=n_threads).fit(x_train, y_train)
        if classifier.constant_:
            notes.append(f"{target}: too few positive or negative customers to train; predicted the prevalence.")
        rows.append({**base, "model": "gradient_boosting", **score(y_test, classifier.predict_proba(x_test))})
        for name, column in BASELINE_SCORES[target].items():
            values = features[column].to_numpy(dtype="float64")
            if column in ("recency_days", "model_expected_spend"):  # skewed: logistic on the log
                values = np.log1p(np.clip(values, 0.0, None))
            probability = platt(values[train], y_train, values[test])
            rows.append({**base, "model": name, **score(y_test, probability)})
        for name, column in RAW_BASELINES[target].items():
            probability = np.clip(features[column].to_numpy(dtype="float64")[test], 0.0, 1.0)
            rows.append({**base, "model": name, **score(y_test, probability)})
        if lstm_probabilities is not None:
            rows.append({**base, "model": "lstm", **score(y_test, lstm_probabilities[:, position])})
    metrics = pd.DataFrame(rows).set_index(["target", "model"])
    return OutcomeEvaluation(metrics, notes)
