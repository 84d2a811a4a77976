"""How well ``shopseg track`` finds the customers who moved, on shops with planted moves (issue 20).

    python benchmarks/track_quality.py [--customers 3000] [--seeds 0 1 2] [--k 8] [--no-text] [--bound]

Each seed generates a two-period shop (``shopseg generate --periods 2 --migrate 0.25``: a
quarter of the customers move to another planted segment in period 2, and their behaviour
and taste follow), written as the generator writes it (orders, products, reviews, events,
customers), and then:

* **segment + segment**: ``shopseg segment --as-of END_OF_PERIOD_1`` and ``--as-of
  END_OF_PERIOD_2`` (K = 8, the planted number, as benchmarks/segment_quality.py), then
  ``shopseg track`` of the two runs;
* **segment + update**: ``shopseg update`` of the first run with period 2's rows (every
  customer placed on the first model; warm start when drift says so), tracked;
* **update, sticky**: the same with ``--switch-margin 1``.

A customer is *flagged* when their tracked segment changed; the planted movers are those whose
planted segment changed. Reported: F1, precision and recall of the flags, and the share of
stayers who keep their tracked id; the adjusted Rand index of each run against its period's
planted segments (the segmentation's own accuracy, which bounds everything else). *Resolved*:
the same scores against the planted segments merged where the segmentation cannot tell them
apart (two planted segments whose customers mostly land in one tracked segment, in either
period, count as one): moves between segments the runs cannot separate are not counted.

``--bound`` adds what a supervised classifier (logistic regression, 5-fold, on the same
scaled features and full text vectors of each period) scores: the ceiling the data allows.

**Drift check**: the customers of period 2 split at random into two halves (two samples of one
period), each segmented ``--as-of`` the same day, tracked (no shared customers: matched by
segment profiles): every feature's PSI should be under 0.1 and the domain classifier AUC near
0.5. The acceptance asks for F1 >= 0.85 and >= 95% of stayers keeping their id, and all PSI <
0.1 for the two samples.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from shopseg.generate import write_shop
from shopseg.generate.periods import PERIOD, PeriodPlan, generate_shop_periods
from shopseg.ingest import load_shop
from shopseg.runner import run_segmentation
from shopseg.tracking import track_runs
from shopseg.update import update_run

TABLES = ("orders", "products", "reviews", "events", "customers")


def movers_scores(flagged: pd.Series, moved: pd.Series) -> dict[str, float]:
    """F1 / precision / recall of ``flagged`` against ``moved``, and the share of stayers not flagged."""
    flagged, moved = flagged.astype(bool), moved.reindex(flagged.index).astype(bool)
    hits = int((flagged & moved).sum())
    precision = hits / max(int(flagged.sum()), 1)
    recall = hits / max(int(moved.sum()), 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-12)
    return {
        "f1": round(f1, 4),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "stayers_kept": round(1 - float(flagged[~moved].mean()), 4),
    }


def resolved_groups(truth: pd.DataFrame, tracked: list[pd.Series]) -> dict[str, str]:
    """Planted segment -> group: segments whose customers mostly share a tracked segment (either period) merge."""
    parent = {name: name for name in pd.unique(truth.to_numpy().ravel())}

    def find(name: str) -> str:
        while parent[name] != name:
            name = parent[name]
        return name

    for period, labels in zip((1, 2), tracked, strict=True):
        planted = truth[period].reindex(labels.index)
        majority = pd.crosstab(planted, labels).idxmax(axis=1)
        for segment in majority.unique():
            names = list(majority.index[majority == segment])
            for other in names[1:]:
                parent[find(other)] = find(names[0])
    return {name: find(name) for name in parent}


def flow_scores(truth: pd.DataFrame, first: pd.Series, second: pd.Series) -> dict[str, object]:
    """Every score of one flow from the two runs' tracked ids (index customer_id)."""
    common = first.index.intersection(second.index)
    first, second = first.loc[common], second.loc[common]
    moved = truth.loc[common, 1] != truth.loc[common, 2]
    flagged = first != second
    groups = resolved_groups(truth.loc[common], [first, second])
    moved_resolved = truth.loc[common, 1].map(groups) != truth.loc[common, 2].map(groups)
    return {
        **movers_scores(flagged, moved),
        "ari_period_1": round(adjusted_rand_score(truth.loc[common, 1], first), 4),
        "ari_period_2": round(adjusted_rand_score(truth.loc[common, 2], second), 4),
        "resolved": {**movers_scores(flagged, moved_resolved), "groups": len(set(groups.values()))},
    }


def tracked_ids(track_dir: Path) -> tuple[pd.Series, pd.Series]:
    transitions = pd.read_csv(track_dir / "transitions.csv", dtype={"customer_id": str}).set_index("customer_id")
    both = transitions.dropna(subset=["segment_from", "segment_to"])
    return both["segment_from"].astype(int), both["segment_to"].astype(int)


def supervised_bound(folder: Path, periods: pd.DataFrame, truth: pd.DataFrame, text: bool) -> dict[str, object]:
    """Logistic regression (5-fold) on each period's scaled features and full text vectors: the data's ceiling."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    from shopseg import Segmenter
    from shopseg.embed.stage import embed_shop
    from shopseg.features.window import DEFAULT_WINDOW_DAYS, as_of_reference, current_activity, cut_at

    shop = load_shop(**{t: folder / f"{t}.csv" for t in TABLES})
    predictions = []
    for period in (1, 2):
        reference = as_of_reference(periods["as_of"][period - 1])
        known = cut_at(shop, reference)
        model = Segmenter(
            k=8,
            value=False,
            use_text=False,
            stability_refits=0,
            map_method=None,
            window_days=DEFAULT_WINDOW_DAYS,
            reference_ts=reference,
        ).fit(known)
        features = model.features_.frame
        parts = [model.scaler_.transform(features)]
        if text:
            stage = embed_shop(current_activity(known, reference, DEFAULT_WINDOW_DAYS), features.index)
            parts += [stage.vectors.blocks[b] for b in sorted(stage.vectors.blocks)] if stage.vectors else []
        target = truth[period].reindex(features.index)
        predicted = cross_val_predict(LogisticRegression(max_iter=3000, C=0.5), np.hstack(parts), target, cv=5)
        predictions.append(pd.Series(predicted, index=features.index))
    common = predictions[0].index.intersection(predictions[1].index)
    moved = truth.loc[common, 1] != truth.loc[common, 2]
    return {
        **movers_scores(predictions[0].loc[common] != predictions[1].loc[common], moved),
        "accuracy_period_1": round(float((predictions[0] == truth[1].reindex(predictions[0].index)).mean()), 4),
        "accuracy_period_2": round(float((predictions[1] == truth[2].reindex(predictions[1].index)).mean()), 4),
    }


def two_samples(folder: Path, periods: pd.DataFrame, work: Path, seed: int, options: dict) -> dict[str, object]:
    """Period 2's customers in two random halves, each segmented as of period 2's end, tracked: drift should be nil."""
    tables = {t: pd.read_csv(folder / f"{t}.csv") for t in TABLES}
    ids = tables["customers"]["customer_id"].to_numpy()
    half = set(np.random.default_rng(seed).permutation(ids)[: len(ids) // 2])
    runs = []
    for part, keep in (("a", lambda c: c.isin(half)), ("b", lambda c: ~c.isin(half))):
        sample = work / f"sample_{part}"
        sample.mkdir()
        for name, table in tables.items():
            rows = table if "customer_id" not in table else table[keep(table["customer_id"])]
            rows.to_csv(sample / f"{name}.csv", index=False)
        run = work / f"run_{part}"
        run_segmentation(run, **{t: sample / f"{t}.csv" for t in TABLES}, as_of=periods["as_of"][1], **options)
        runs.append(run)
    result = track_runs(runs, work / "track_samples", seed=seed)
    step = result.drift["steps"][0]
    return {
        "method": result.steps[0]["method"],
        "psi_max": step["psi_max"],
        "psi_top": step["features"][:3],
        "features_over_0.1": sum(f["psi"] >= 0.1 for f in step["features"]),
        "embedding_auc": step["embedding"].get("auc"),
    }


def run_seed(seed: int, args: argparse.Namespace, work: Path) -> dict[str, object]:
    folder = work / "shop"
    write_shop(generate_shop_periods(args.customers, seed=seed, plan=PeriodPlan(count=2, migrate=args.migrate)), folder)
    periods = pd.read_csv(folder / "periods.csv")
    truth = pd.read_csv(folder / "truth_periods.csv", dtype={"customer_id": str}).pivot(
        index="customer_id", columns=PERIOD, values="segment"
    )
    options = {
        "k": args.k,
        "seed": seed,
        "use_text": not args.no_text,
        "recommender": None,
        "stability_refits": 0,
        "value": False,
        "map_method": None,
    }
    inputs = {t: folder / f"{t}.csv" for t in TABLES}
    result: dict[str, object] = {"seed": seed, "movers": int((truth[1] != truth[2]).sum()), "customers": len(truth)}
    started = time.perf_counter()
    first, second = work / "first", work / "second"
    run_segmentation(first, **inputs, as_of=periods["as_of"][0], **options)
    run_segmentation(second, **inputs, as_of=periods["as_of"][1], **options)
    track_runs([first, second], work / "track", seed=seed, embedding_drift=False)
    result["segment + segment"] = flow_scores(truth, *tracked_ids(work / "track"))
    new = work / "new"
    new.mkdir()
    for table in ("orders", "reviews", "events"):
        rows = pd.read_csv(folder / f"{table}.csv")
        rows[rows["ts"] >= periods["end"][0]].to_csv(new / f"{table}.csv", index=False)
    new_shop = load_shop(orders=new / "orders.csv", reviews=new / "reviews.csv", events=new / "events.csv")
    for margin in args.margins:
        label = "segment + update" if margin == 0 else f"update, sticky {margin:g}"
        updated = work / f"updated_{margin:g}"
        report = update_run(first, new_shop, updated, switch_margin=margin, seed=seed, value=False)
        track_runs([first, updated], work / f"track_{margin:g}", seed=seed, embedding_drift=False)
        result[label] = {
            **flow_scores(truth, *tracked_ids(work / f"track_{margin:g}")),
            "refitted": report.record["update"]["refitted"],
        }
    if args.bound:
        result["supervised bound"] = supervised_bound(folder, periods, truth, not args.no_text)
    result["two samples of period 2"] = two_samples(folder, periods, work, seed, options)
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--migrate", type=float, default=0.25)
    parser.add_argument("--k", type=int, default=8, help="segments per run (8: the planted number)")
    parser.add_argument("--no-text", action="store_true")
    parser.add_argument("--bound", action="store_true", help="also the supervised ceiling")
    parser.add_argument("--json", type=Path, help="write every result here")
    parser.add_argument(
        "--margins", type=float, nargs="+", default=[0.0, 2.0], help="switch margins of the update flows (0: nearest)"
    )
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    results = []
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as tmp:
            results.append(run_seed(seed, args, Path(tmp)))
        print(json.dumps(results[-1]), flush=True)
    flows = [k for k, v in results[0].items() if isinstance(v, dict) and "f1" in v]
    header = ["flow", "F1", "precision", "recall", "stayers kept", "ARI p1/p2", "resolved F1", "resolved kept"]
    print("\n" + " | ".join(header))
    for flow in flows:
        rows = [r[flow] for r in results]

        def mean(key: str, rows: list[dict] = rows) -> str:
            values = np.array([row[key] for row in rows], dtype=float)
            return f"{values.mean():.3f} ± {values.std():.3f}"

        ari = "-"
        if "ari_period_1" in rows[0]:
            ari = f"{np.mean([r['ari_period_1'] for r in rows]):.2f}/{np.mean([r['ari_period_2'] for r in rows]):.2f}"
        resolved = [r["resolved"] for r in rows if "resolved" in r]
        res_f1 = f"{np.mean([r['f1'] for r in resolved]):.3f}" if resolved else "-"
        res_kept = f"{np.mean([r['stayers_kept'] for r in resolved]):.3f}" if resolved else "-"
        cells = [flow, mean("f1"), mean("precision"), mean("recall"), mean("stayers_kept"), ari, res_f1, res_kept]
        print(" | ".join(cells))
    samples = [r["two samples of period 2"] for r in results]
    print(
        "two samples of one period: largest PSI "
        + ", ".join(f"{s['psi_max']:.3f}" for s in samples)
        + "; domain AUC "
        + ", ".join(f"{s['embedding_auc']}" for s in samples)
        + f"; matched by {samples[0]['method']}"
    )
    print(
        f"{args.customers:,} customers, migrate {args.migrate}, K {args.k}, text {not args.no_text}, seeds {args.seeds}"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
