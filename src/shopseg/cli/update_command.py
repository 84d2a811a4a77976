"""``shopseg update --model RUN --orders NEW ... --out RUN2``: a thin face over :func:`shopseg.update.update_run`.

Register it with ``app.command()(update)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape


def update(
    model: Annotated[Path, typer.Option("--model", help="The run to bring up to date (shopseg segment or update).")],
    orders: Annotated[Path | None, typer.Option("--orders", help="New order lines.")] = None,
    customers: Annotated[Path | None, typer.Option("--customers", help="New or changed customers.")] = None,
    products: Annotated[Path | None, typer.Option("--products", help="New or changed products.")] = None,
    reviews: Annotated[Path | None, typer.Option("--reviews", help="New reviews.")] = None,
    events: Annotated[Path | None, typer.Option("--events", help="New browsing events.")] = None,
    format: Annotated[str | None, typer.Option("--format", help="Layout of the orders file (auto-detected).")] = None,
    date_format: Annotated[str | None, typer.Option("--date-format", help="strptime pattern of the dates.")] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for the updated run.")] = Path("shopseg-updated"),
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Place everybody as of the end of this day (default: the last line).")
    ] = None,
    refit: Annotated[
        bool, typer.Option("--refit", help="Warm-start the segments on the new data whatever the drift.")
    ] = False,
    psi_threshold: Annotated[
        float, typer.Option("--psi-threshold", min=0.0, help="Refit when a segmentation feature's PSI reaches this.")
    ] = 0.25,
    auc_threshold: Annotated[
        float,
        typer.Option("--auc-threshold", min=0.5, max=1.0, help="Refit when the drift classifier's AUC reaches this."),
    ] = 0.65,
    switch_margin: Annotated[
        float,
        typer.Option(
            "--switch-margin",
            min=0.0,
            help="Sticky placement: a customer changes segment only when another is closer by this many typical "
            "squared distances (0: nearest segment).",
        ),
    ] = 1.0,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the drift classifier and the warm start.")] = 0,
) -> None:
    """Place every customer on a saved run as of new data, measure drift, refit (warm start) only when needed."""
    from shopseg.cli.display import console, segments_table
    from shopseg.errors import ConfigError
    from shopseg.ingest import load_shop
    from shopseg.update import update_run

    if not any((orders, customers, products, reviews, events)):
        raise ConfigError("Give the new data: --orders (and optionally --reviews, --events, --customers, --products).")
    new = load_shop(orders, customers, products, reviews, events, format=format, date_format=date_format)
    result = update_run(
        model,
        new,
        out,
        as_of=as_of,
        refit=refit,
        psi_threshold=psi_threshold,
        auc_threshold=auc_threshold,
        switch_margin=switch_margin,
        seed=seed,
    )
    console.print(segments_table(result.record))
    update_record = result.record["update"]
    console.print(
        f"Placed {update_record['customers_placed']:,} customers as of {update_record['reference'][:10]} "
        f"({update_record['customers_new']:,} new, {update_record['customers_changed_segment']:,} changed segment). "
        f"Largest feature PSI {update_record['psi_max']}, embedding AUC {update_record['embedding_auc']}."
    )
    verb = "Refitted (warm start)" if update_record["refitted"] else "Not refitted"
    console.print(f"{verb}: {escape(str(update_record['reason']))}")
    console.print(f"Outputs in [bold]{escape(str(out))}[/] (a run folder, with transitions.csv and drift.json)")
