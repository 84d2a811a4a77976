"""``shopseg value``: customer lifetime value, P(alive), churn risk and high-value probability alone.

A thin face over :func:`shopseg.value.customer_value`: read the orders, run the value
stage, print the models compared on the holdout, the calibration fit beside its holdout
check, the production fit (whole history), the churn decision, the holdout metrics and every
warning, and write ``value.parquet`` (one row per customer), ``value.json`` (the report) and,
with a holdout, ``holdout.csv`` (predicted vs actual holdout orders and spend per customer)
into ``--out`` atomically. Register it with ``app.command()(value)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from shopseg.errors import ShopsegError

VALUE_FILES = ("value.parquet", "value.json", "holdout.csv")


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
    bayesian: Annotated[
        bool,
        typer.Option(
            "--bayesian", help="Refit the chosen model by MCMC with pymc-marketing (pip install pymc-marketing)."
        ),
    ] = False,
) -> None:
    """Predict CLV, P(alive), expected orders, churn risk and the next order date per customer."""
    from shopseg.cli.display import console
    from shopseg.export.run_folder import prepare_output, write_atomically
    from shopseg.export.value_files import write_value_files
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
        bayesian=bayesian,
    )
    if result.frame is None:
        raise ShopsegError(" ".join(result.report["notes"]))

    def write(folder: Path) -> None:
        result.frame.reset_index().to_parquet(folder / "value.parquet", index=False)
        write_value_files(folder, result)

    write_atomically(out, write)
    report = result.report
    for table in (comparison_table(report), calibration_table(report), production_table(report)):
        if table is not None:
            console.print(table)
    if report.get("holdout_metrics"):
        console.print(metrics_table(report))
    churn = report.get("churn") or {}
    console.print(f"  churn_risk: {churn.get('source')} ({churn.get('reason')})")
    for warning in report.get("warnings", []):
        console.print(f"  [yellow]warning:[/] {warning}")
    for note in report["notes"]:
        console.print(f"  note: {note}")
    frame = result.frame
    console.print(
        f"{len(frame):,} customers: total CLV {frame['clv'].sum():,.2f} over {horizon_days} days, "
        f"mean P(alive) {frame['p_alive'].mean():.2f}. Outputs in [bold]{out}[/]: {', '.join(VALUE_FILES)}"
    )


def _fitted_on(record: dict[str, object]) -> str:
    seen = record.get("fitted_on") or {}
    return (
        f"{seen.get('customers', 0):,} customers, {str(seen.get('first_day', ''))[:10]} to "
        f"{str(seen.get('last_day', ''))[:10]} ({seen.get('weeks')} weeks)"
    )


def _parameter_rows(table: Table, record: dict[str, object]) -> None:
    """Parameters in weeks (alpha, beta: time scales) with standard errors, and the log-likelihood."""
    errors = record.get("standard_errors_weeks") or {}
    for name, estimate in (record.get("params_weeks") or record["params"]).items():
        error = errors.get(name)
        table.add_row(str(record.get("label")), name, f"{estimate:.4g}", "-" if error is None else f"{error:.3g}")
    table.add_row(str(record.get("label")), "log-likelihood", f"{record['log_likelihood']:,.1f}", "")


def _parameters(title: str) -> Table:
    table = Table(title=title)
    for column, justify in (("model", "left"), ("parameter", "left"), ("estimate", "right"), ("std. error", "right")):
        table.add_column(column, justify=justify)
    return table


def comparison_table(report: dict[str, object]) -> Table | None:
    """Every candidate transaction model with its holdout metrics (or BIC), the chosen one marked."""
    selection = report.get("model_selection")
    if not selection:
        return None
    window = (report.get("calibration") or {}).get("holdout_weeks")
    title = (
        f"Transaction models compared on the holdout (fitted on the calibration period, next {window} weeks)"
        if selection["criterion"] == "holdout_mae"
        else "Transaction models compared by BIC (whole history; no holdout)"
    )
    table = Table(title=title)
    for column in ("model", "converged", "MAE / customer", "total error", "BIC", "chosen"):
        table.add_column(column, justify="left" if column == "model" else "right")

    def fmt(number: object, pattern: str) -> str:
        return "-" if number is None else format(number, pattern)

    for row in selection["candidates"]:
        table.add_row(
            str(row["label"]),
            "yes" if row.get("converged") else "no",
            fmt(row.get("mae_per_customer"), ".4f"),
            fmt(row.get("total_error"), "+.1%"),
            fmt(row.get("bic"), ",.1f"),
            "<-" if row.get("chosen") else "",
        )
    return table


def calibration_table(report: dict[str, object]) -> Table | None:
    """The calibration fit's parameters (weeks) next to its own holdout check: the same model, the same period."""
    check = report.get("holdout_check")
    if not check:
        return None
    record = check["calibration_model"]
    table = _parameters(f"Holdout check: {record['label']} fitted on the calibration period, {_fitted_on(record)}")
    _parameter_rows(table, record)
    table.add_row(
        str(record["label"]),
        f"holdout orders, next {check['window_days'] / 7:.1f} weeks (predicted / actual)",
        f"{check['predicted_purchases']:,.0f} / {check['actual_purchases']:,.0f}",
        "",
    )
    table.add_row(str(record["label"]), "MAE per customer", f"{check['mean_absolute_error_per_customer']:.4f}", "")
    table.add_row(
        str(record["label"]), "share of customers inside their 90% interval", f"{check['interval_coverage']:.3f}", ""
    )
    return table


def production_table(report: dict[str, object]) -> Table | None:
    """The chosen model refitted on the whole history (what the customer values come from), and the spend model."""
    record = report.get("transaction_model")
    if not record:
        return None
    table = _parameters(f"Fitted models (whole history, {_fitted_on(record)}; time parameters in weeks)")
    _parameter_rows(table, record)
    spend = report.get("spend") or {}
    if spend.get("method") == "gamma_gamma":
        fitted = spend["gamma_gamma"]
        for name, estimate in fitted["params"].items():
            error = fitted["standard_errors"].get(name)
            table.add_row("Gamma-Gamma", name, f"{estimate:.4g}", "-" if error is None else f"{error:.3g}")
    elif spend.get("method") == "shrunk_mean":
        shrunk = spend["shrunk_mean"]
        table.add_row("shrunk mean spend", "shop mean per order", f"{shrunk['shop_mean_spend_per_order']:,.2f}", "")
        table.add_row("shrunk mean spend", "credibility K (days)", str(shrunk["credibility_k_days"]), "")
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
