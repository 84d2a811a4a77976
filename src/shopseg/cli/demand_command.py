"""``shopseg demand``: expected units per product per segment over a horizon, from a saved run.

A thin face over :func:`shopseg.demand_run.run_demand`: read the run folder, forecast, write
demand.csv / demand.parquet / demand_levels.csv / demand.json / demand.html into ``--out``
atomically, and print the totals (and, with ``--backtest``, WAPE / MASE per level against the
seasonal naive and moving averages, and interval coverage). A bad horizon exits 2 with a
message saying which horizons work. Register it with ``app.command()(demand)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table


def demand(
    run: Annotated[Path, typer.Option("--run", help="Run folder written by 'shopseg segment' (with value columns).")],
    horizon_days: Annotated[
        str, typer.Option("--horizon-days", help="Days ahead to forecast: a whole number, at most half the history.")
    ] = "90",
    out: Annotated[Path, typer.Option("--out", help="Folder for demand.csv, demand.parquet, demand.json ...")] = Path(
        "shopseg-demand"
    ),
    backtest: Annotated[
        bool,
        typer.Option("--backtest", help="Also refit one horizon earlier and score against what was bought."),
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the parameter draws.")] = 0,
) -> None:
    """Forecast units per product per segment (with 90% intervals) for inventory planning."""
    from shopseg.cli.display import console
    from shopseg.demand import check_horizon
    from shopseg.demand_run import load_demand_inputs, run_demand
    from shopseg.export.demand_files import DEMAND_FILES, write_demand_files
    from shopseg.export.run_folder import prepare_output, write_atomically

    check_horizon(horizon_days)  # a malformed flag fails before anything is read
    prepare_output(out)
    inputs = load_demand_inputs(run)
    forecast, result = run_demand(inputs, horizon_days, backtest=backtest, seed=seed)
    write_atomically(out, lambda folder: write_demand_files(folder, forecast))
    console.print(segment_table(forecast.report, forecast.level("segment")))
    if result is not None:
        console.print(backtest_table(result.report))
    for reason, count in forecast.report.get("left_out_lines", {}).items():
        console.print(f"  note: {count:,} order line(s) left out: {reason}")
    console.print(f"  {escape(membership_line(forecast.report['membership']))}")
    report = forecast.report
    console.print(
        f"{report['expected_units_total']:,.0f} units expected from {report['window']['first_day']} to "
        f"{report['window']['last_day']}. Outputs in [bold]{out}[/]: {', '.join(DEMAND_FILES)}"
    )


def membership_line(membership: dict[str, object]) -> str:
    """One line on which segments each window read (demand.json ``membership``)."""
    if membership["placed_on_model"]:
        return "segments: each window's customers placed on the run's model as of the window's start"
    return f"note: {membership['rule']}; earlier windows then read segments fitted on their future"


def segment_table(report: dict[str, object], rows) -> Table:
    """Expected units per segment with the 90% interval."""
    names = report.get("segment_names", {})
    table = Table(title=f"Expected units, next {report['horizon_days']} days")
    for column in ("segment", "expected units", "p05", "p95"):
        table.add_column(column, justify="left" if column == "segment" else "right")
    for _, row in rows.iterrows():
        segment = int(row["segment_id"])
        table.add_row(
            f"{segment} {names.get(str(segment), '')}".strip(),
            f"{row['expected_units']:,.1f}",
            f"{row['p05']:,.0f}",
            f"{row['p95']:,.0f}",
        )
    return table


def backtest_table(report: dict[str, object]) -> Table:
    """WAPE and MASE per level and method, and interval coverage."""
    table = Table(title=f"Back-test: cut-off {report['cutoff']}, next {report['horizon_days']} days")
    for column in ("level", "method", "WAPE", "MASE", "coverage"):
        table.add_column(column, justify="left" if column in ("level", "method") else "right")
    coverage = report["coverage"]
    for row in report["metrics"]:
        covered = coverage.get(row["level"]) if row["method"] == "shopseg" else None
        table.add_row(
            row["level"],
            row["method"],
            "-" if row["wape"] is None else f"{row['wape']:.3f}",
            "-" if row["mase"] is None else f"{row['mase']:.3f}",
            "" if covered is None else f"{covered:.2f}",
        )
    return table
