"""``shopseg value``: customer lifetime value, P(alive), churn risk and high-value probability alone.

A thin face over :func:`shopseg.value.customer_value`: read the orders, run the value
stage, print the fitted parameters and the holdout metrics, and write ``value.parquet``
(one row per customer) and ``value.json`` (the report) into ``--out`` atomically.
Register it with ``app.command()(value)``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from shopseg.errors import ShopsegError

VALUE_FILES = ("value.parquet", "value.json")


def value(
    orders: Annotated[Path, typer.Option("--orders", help="Order lines (one row per line item).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for value.parquet and value.json.")] = Path(
        "shopseg-value"
    ),
    format: Annotated[
        str | None, typer.Option("--format", help="Layout of the orders file; auto-detected when left out.")
    ] = None,
    date_format: Annotated[
        str | None, typer.Option("--date-format", help="strptime pattern of the dates, e.g. '%d/%m/%Y'.")
    ] = None,
    holdout_days: Annotated[
        int | None,
        typer.Option(
            "--holdout-days",
            min=1,
            help="Last days of the history used as the holdout to train and check the churn and "
            "high-value models (default: min(horizon, half the history)).",
        ),
    ] = None,
    holdout_start: Annotated[
        str | None, typer.Option("--holdout-start", help="First day of the holdout (YYYY-MM-DD), instead of days.")
    ] = None,
    horizon_days: Annotated[
        int, typer.Option("--horizon-days", min=1, help="CLV and expected-orders horizon in days.")
    ] = 365,
    discount_rate: Annotated[
        float, typer.Option("--discount-rate", help="Monthly discount rate for CLV (0.01 = 1 % a month).")
    ] = 0.01,
    min_history_days: Annotated[
        int, typer.Option("--min-history-days", min=1, help="Shortest order history worth modelling.")
    ] = 90,
    seed: Annotated[int, typer.Option("--seed", help="Random seed for the customer split and models.")] = 0,
    lstm: Annotated[bool, typer.Option("--lstm", help="Also evaluate the LSTM sequence baseline (PyTorch).")] = False,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Use only order lines up to the end of this day (YYYY-MM-DD).", show_default=None),
    ] = None,
) -> None:
    """Predict CLV, P(alive), expected orders, churn risk and the next order date per customer."""
    from shopseg.cli.display import console
    from shopseg.export.run_folder import prepare_output, write_atomically
    from shopseg.ingest import load_shop
    from shopseg.ingest.load import require_order_lines
    from shopseg.value import customer_value

    prepare_output(out)  # fail before the work, not after
    shop = load_shop(orders, format=format, date_format=date_format)
    require_order_lines(shop, "value")
    if as_of is not None:
        from shopseg.features.window import as_of_reference, cut_at

        shop = cut_at(shop, as_of_reference(as_of), as_of)
    result = customer_value(
        shop.orders,
        horizon_days=horizon_days,
        discount_rate=discount_rate,
        holdout_days=holdout_days,
        holdout_start=holdout_start,
        min_history_days=min_history_days,
        random_state=seed,
        sequence_model=lstm,
    )
    if result.frame is None:
        raise ShopsegError(" ".join(result.report["notes"]))

    def write(folder: Path) -> None:
        result.frame.reset_index().to_parquet(folder / "value.parquet", index=False)
        (folder / "value.json").write_text(json.dumps(result.report, indent=2))

    write_atomically(out, write)
    console.print(parameters_table(result.report))
    if result.report.get("holdout_metrics"):
        console.print(metrics_table(result.report))
    for note in result.report["notes"]:
        console.print(f"  note: {note}")
    frame = result.frame
    console.print(
        f"{len(frame):,} customers: total CLV {frame['clv'].sum():,.2f} over {horizon_days} days, "
        f"mean P(alive) {frame['p_alive'].mean():.2f}. Outputs in [bold]{out}[/]: {', '.join(VALUE_FILES)}"
    )


def parameters_table(report: dict[str, object]) -> Table:
    """Fitted BG/NBD and Gamma-Gamma parameters with standard errors and log-likelihoods."""
    table = Table(title="Fitted models (whole history)")
    for column, justify in (("model", "left"), ("parameter", "left"), ("estimate", "right"), ("std. error", "right")):
        table.add_column(column, justify=justify)
    for key in ("bgnbd", "gamma_gamma"):
        fitted = report.get(key)
        if not fitted:
            continue
        for name, estimate in fitted["params"].items():
            error = fitted["standard_errors"].get(name)
            table.add_row(key, name, f"{estimate:.4g}", "-" if error is None else f"{error:.3g}")
        table.add_row(key, "log-likelihood", f"{fitted['log_likelihood']:,.1f}", "")
    check = report.get("holdout_check")
    if check:
        table.add_row(
            "bgnbd",
            "holdout purchases (predicted / actual)",
            f"{check['predicted_purchases']:,.0f} / {check['actual_purchases']:,.0f}",
            "",
        )
    return table


def metrics_table(report: dict[str, object]) -> Table:
    """Holdout AUC / PR-AUC / Brier of the churn and high-value models and their baselines."""
    window = report.get("prediction_window_days")
    table = Table(title=f"Holdout metrics (next {window} days; held-out customers)")
    for column in ("target", "model", "AUC", "PR-AUC", "Brier", "n"):
        table.add_column(column, justify="left" if column in ("target", "model") else "right")

    def fmt(number: float | None) -> str:
        return "-" if number is None else f"{number:.3f}"

    for row in report["holdout_metrics"]:
        table.add_row(
            row["target"], row["model"], fmt(row["auc"]), fmt(row["pr_auc"]), fmt(row["brier"]), f"{row['n_test']:,}"
        )
    return table
