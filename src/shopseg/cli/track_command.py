"""``shopseg track RUN_A RUN_B [RUN_C ...] --out DIR``: segments over time (a thin face over :mod:`shopseg.tracking`).

Register it with ``app.command()(track)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table


def track(
    runs: Annotated[list[Path], typer.Argument(help="Run folders of one shop, oldest first (two or more).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for transitions, migration, drift and track.html.")] = Path(
        "shopseg-track"
    ),
    match: Annotated[
        float,
        typer.Option(
            "--match",
            min=0.5,
            max=1.0,
            help="MONIC: a later segment continues an earlier one holding this share of it.",
        ),
    ] = 0.5,
    split: Annotated[
        float,
        typer.Option("--split", min=0.01, max=0.5, help="MONIC: least share of a segment each part of a split holds."),
    ] = 0.2,
    no_embedding_drift: Annotated[
        bool,
        typer.Option(
            "--no-embedding-drift",
            help="Skip the domain-classifier drift (it places every run's customers on the earlier model).",
        ),
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the samples and the drift classifier.")] = 0,
) -> None:
    """Follow segments across runs: stable ids, MONIC events, customer migration and drift."""
    from shopseg.cli.display import console
    from shopseg.track import MatchSettings
    from shopseg.tracking import TRACK_FILES, track_runs

    result = track_runs(
        runs, out, settings=MatchSettings(match=match, split=split), embedding_drift=not no_embedding_drift, seed=seed
    )
    for step, drift in zip(result.summary["steps"], result.drift["steps"], strict=True):
        console.print(steps_table(step))
        moves = result.transitions[
            (result.transitions["run_from"] == step["run_from"]) & (result.transitions["run_to"] == step["run_to"])
        ]
        both = moves.dropna(subset=["segment_from", "segment_to"])
        moved = int((both["segment_from"] != both["segment_to"]).sum())
        embedding = drift.get("embedding") or {}
        auc = embedding.get("auc")
        console.print(
            f"  {len(both):,} customers in both runs, {moved:,} changed segment ({moved / max(len(both), 1):.1%}); "
            f"features: {drift['features_shifted']} shifted, {drift['features_moderate']} moderate "
            f"(largest PSI {drift['psi_max'] if drift['psi_max'] is not None else '-'}); "
            + (f"embedding AUC {auc:.3f} ({embedding.get('verdict')})" if auc is not None else "embedding drift: -")
        )
    console.print(f"Outputs in [bold]{escape(str(out))}[/]: {', '.join(TRACK_FILES)}")


def steps_table(step: dict[str, object]) -> Table:
    """The MONIC events of one step."""
    table = Table(title=f"{step['run_from']} → {step['run_to']} (matched by {step['method']})")
    for column in ("event", "from", "to", "overlap"):
        table.add_column(column)
    for event in step["events"]:
        table.add_row(
            str(event["kind"]),
            ", ".join(map(str, event["sources"])) or "-",
            ", ".join(map(str, event["targets"])) or "-",
            ", ".join(f"{k}: {v}" for k, v in event.get("shares", {}).items()),
        )
    return table
