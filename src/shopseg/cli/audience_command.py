"""``shopseg audience``: who to target, from a sentence, editable conditions, or one product.

A thin face over :mod:`shopseg.audience` (sentences and conditions) and
:mod:`shopseg.item_audience` (``--item``), registered with ``app.command()(audience)``. It
works on the default install: no web stack is imported.

* ``shopseg audience "outdoor buyers who spent over 500" --run RUN``: the conditions read
  from the sentence, the rest as the topic; prints what was understood, the conditions in
  the editable syntax, and the audience;
* ``--explain``: prints what was understood and the conditions (``--where`` syntax) and
  stops, so they can be edited and given back;
* ``--where 'spend > 500 and orders >= 3 and topic = "outdoor"'``: conditions given
  directly (with a sentence too, ``--where`` wins bound by bound);
* ``--item P00042``: the customers most likely to buy one product.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from shopseg.errors import ConfigError

#: Columns printed (the file written with --out has them all).
SHOWN_COLUMNS = ("customer_id", "segment_name", "last_order_date", "monetary_total", "clv", "churn_risk", "topic_score")
NUMERIC_COLUMNS = frozenset({"monetary_total", "clv", "churn_risk", "topic_score"})
RunOpt = Annotated[Path, typer.Option("--run", help="Run folder written by 'shopseg segment' (its --out).")]


def audience(
    run: RunOpt,
    text: Annotated[
        str | None,
        typer.Argument(
            help="Who, in words: 'outdoor buyers who spent over 500 and have not ordered in 3 months'. "
            "Spend, orders, recency, CLV, churn risk and segments are read as conditions; the rest is the topic.",
            show_default=False,
        ),
    ] = None,
    where: Annotated[
        str | None,
        typer.Option(
            "--where",
            help="Conditions in the editable syntax --explain prints: "
            "'spend > 500 and orders >= 3 and days_since_last_order > 90 and clv >= p80 and churn_risk >= 0.5 "
            'and segment in (1, 2) and topic = "outdoor"\'. With a sentence too, --where wins bound by bound.',
        ),
    ] = None,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain", help="Print what was understood and the conditions (editable, for --where); build nothing."
        ),
    ] = False,
    item: Annotated[
        str | None,
        typer.Option(
            "--item",
            help="A product id: the customers most likely to buy it, scored by the run's saved recommender "
            "(recent buyers of it and customers without history left out).",
        ),
    ] = None,
    top: Annotated[int | None, typer.Option("--top", min=1, help="Keep at most this many customers.")] = 500,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the audience here (.csv, spreadsheet-safe; or .parquet).")
    ] = None,
    show: Annotated[int, typer.Option("--show", min=0, help="Rows to print.")] = 20,
) -> None:
    """Build an audience: from a sentence or --where conditions (plus a topic matched to what customers
    bought and viewed), or with --item, the customers most likely to buy one product."""
    described = text is not None or where is not None
    if described == (item is not None):
        raise ConfigError(
            "Give a sentence (shopseg audience 'outdoor buyers' --run RUN) or --where CONDITIONS, or --item "
            "PRODUCT_ID, " + ("not both." if described else "one of them.")
        )
    if out is not None and out.suffix.lower() not in (".csv", ".parquet"):
        raise ConfigError(f"--out {out}: use a .csv or .parquet file name.")
    if item is not None:
        if explain:
            raise ConfigError("--explain explains a sentence or --where conditions, not --item.")
        _item_audience(run, item, top or 500, out, show)
    else:
        _described_audience(run, text, where, explain, top, out, show)


def _write_table(table: pd.DataFrame, out: Path) -> None:
    """``table`` as .parquet or spreadsheet-safe .csv, atomically: a reader never sees half a file."""
    from shopseg.export.safe_csv import write_safe_csv

    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.{os.getpid()}.partial")
    if out.suffix.lower() == ".parquet":
        table.to_parquet(partial, index=False)
    else:
        write_safe_csv(table, partial)
    partial.replace(out)


def _item_audience(run: Path, item: str, top: int, out: Path | None, show: int) -> None:
    from rich.markup import escape
    from rich.table import Table

    from shopseg.cli.display import console
    from shopseg.item_audience import item_audience

    table = item_audience(run, item, top)
    view = Table(title=f"Customers most likely to buy {escape(item)}: {len(table):,}")
    for column, justify in (("rank", "right"), ("customer_id", "left"), ("score", "right"), ("segment_name", "left")):
        view.add_column(column.replace("_", " "), justify=justify)
    for row in table.head(show).itertuples(index=False):
        view.add_row(str(row.rank), escape(str(row.customer_id)), f"{row.score:,.4f}", escape(str(row.segment_name)))
    console.print(view)
    if out is not None:
        _write_table(table, out)
        console.print(f"Wrote {len(table):,} rows to [bold]{escape(str(out))}[/]")


def _described_audience(
    run: Path, text: str | None, where: str | None, explain: bool, top: int | None, out: Path | None, show: int
) -> None:
    from rich.markup import escape
    from rich.table import Table

    from shopseg.audience import Conditions, build_audience, load_topic_matcher, parse_audience, parse_where
    from shopseg.cli.display import console
    from shopseg.run_data import RunData

    data = RunData.load(run, recommendations=False)
    conditions, understood = Conditions(), []
    if where is not None:
        conditions = parse_where(where)
        understood.append(f"--where: {conditions.where() or '(no condition)'}")
    if text is not None:
        parsed = parse_audience(text, data.segment_names())
        conditions, notes = conditions.merged_with(parsed.conditions)
        understood = [*parsed.understood, *understood, *notes]
    editable = conditions.where()
    console.print("[bold]Understood:[/]")
    for line in understood:
        console.print(f"  • {escape(line)}")
    console.print(f"[bold]Conditions:[/] {escape(editable) if editable else '(none: every customer)'}", soft_wrap=True)
    if explain:
        command = f"shopseg audience --run {shlex.quote(str(run))} --where {shlex.quote(editable)}"
        console.print(f"Edit them and build the audience with:\n  {escape(command)}", soft_wrap=True)
        return
    built = build_audience(data, conditions, lambda: load_topic_matcher(data), top=top)
    for line in built.understood:
        console.print(f"  • {escape(line)}")
    table = built.table(data)
    shown = [c for c in SHOWN_COLUMNS if c in table]
    view = Table(title=f"Audience: {built.size:,} customers ({built.matching:,} matched)")
    for column in shown:
        view.add_column(column.replace("_", " "), justify="right" if column in NUMERIC_COLUMNS else "left")
    for row in table[shown].head(show).itertuples(index=False):
        view.add_row(*(f"{v:,.2f}" if isinstance(v, float) else escape(str(v)) for v in row))
    console.print(view)
    if out is not None:
        _write_table(table, out)
        console.print(f"Wrote {built.size:,} rows to [bold]{escape(str(out))}[/]")
