"""``shopseg serve`` (REST API + dashboard) and ``shopseg audience`` (natural-language and item audiences).

Thin faces over :mod:`shopseg.serve`: register them with ``app.command()(serve)`` and
``app.command()(audience)``. Both read a run folder written by ``shopseg segment``. The
serving stack (fastapi, uvicorn, jinja2) is imported only when a command runs, so the rest
of the CLI works without the ``serve`` extra; ``audience --item`` reads the run's saved recommender
(:mod:`shopseg.item_audience`) and needs no extra.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from shopseg.errors import ConfigError

API_KEY_ENV = "SHOPSEG_API_KEY"
#: Columns printed by ``shopseg audience`` (the file written with --out has them all).
SHOWN_COLUMNS = ("customer_id", "segment_name", "last_order_date", "clv", "churn_risk", "taste_score")
NUMERIC_COLUMNS = frozenset({"clv", "churn_risk", "taste_score"})
RunOpt = Annotated[Path, typer.Option("--run", help="Run folder written by 'shopseg segment' (its --out).")]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _serving_stack(command: str, modules: tuple[str, ...]) -> None:
    """Stop with a clear message when the ``serve`` extra is not installed."""
    import importlib.util

    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigError(
            f"'shopseg {command}' needs the serve extra ({', '.join(missing)} missing): pip install 'shopseg[serve]'."
        )


def serve(
    run: RunOpt,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on (127.0.0.1 = this machine only).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            envvar=API_KEY_ENV,
            help=f"Key clients send in the X-API-Key header. Prefer the {API_KEY_ENV} environment variable "
            "(a flag shows in the process list); without either, a key is generated and printed.",
            show_default=False,
        ),
    ] = None,
    no_auth: Annotated[
        bool, typer.Option("--no-auth", help="No API key at all: for local use on this machine only.")
    ] = False,
    max_body_mb: Annotated[float, typer.Option("--max-body-mb", min=0.01, help="Largest request body in MB.")] = 5.0,
) -> None:
    """Serve a run: REST API (docs at /docs) and dashboard (/) with uvicorn."""
    _serving_stack("serve", ("fastapi", "uvicorn", "jinja2", "pydantic"))
    import uvicorn

    from shopseg.cli.display import console
    from shopseg.serve import create_app

    if no_auth and api_key:
        raise ConfigError(f"Give either --no-auth or an API key (--api-key / {API_KEY_ENV}), not both.")
    generated = not no_auth and not api_key
    key = None if no_auth else (api_key or secrets.token_urlsafe(24))
    app = create_app(run, key, max_body_bytes=int(max_body_mb * 1_000_000))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    shown_host = f"[{host}]" if ":" in host else host
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else shown_host}:{port}"
    if no_auth:
        console.print("[bold yellow]Authentication is off[/]: anyone who can reach this server can read the run.")
        if not _is_loopback(host):
            console.print(f"[bold red]Warning[/]: --no-auth while listening on {host}, not only on this machine.")
        console.print(f"Dashboard: {url}/   API docs: {url}/docs", soft_wrap=True)
    else:
        if generated:
            console.print(
                f"API key (generated for this session; set {API_KEY_ENV} to choose one): {key}", soft_wrap=True
            )
        console.print(
            f"Dashboard: {url}/?key={key if generated else 'YOUR_KEY'}   API docs: {url}/docs", soft_wrap=True
        )
    # The app logs each request without customer ids; uvicorn's access log would log raw paths.
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="info", server_header=False)


def audience(
    run: RunOpt,
    text: Annotated[
        str | None,
        typer.Argument(
            help="Who, in words: 'eco-conscious outdoor buyers who have not ordered in 3 months'. "
            "Leave out with --item.",
            show_default=False,
        ),
    ] = None,
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
    """Build an audience: from a sentence (filters read from the text, the rest matched to customers' taste),
    or with --item, the customers most likely to buy one product."""
    if (text is None) == (item is None):
        raise ConfigError(
            "Give either a sentence (shopseg audience 'outdoor buyers' --run RUN) or --item PRODUCT_ID, not "
            + ("both." if text is not None else "neither.")
        )
    if out is not None and out.suffix.lower() not in (".csv", ".parquet"):
        raise ConfigError(f"--out {out}: use a .csv or .parquet file name.")
    if item is not None:
        _item_audience(run, item, top or 500, out, show)
    else:
        _text_audience(run, text or "", top, out, show)


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


def _text_audience(run: Path, text: str, top: int | None, out: Path | None, show: int) -> None:
    _serving_stack("audience", ("pydantic",))
    from pydantic import ValidationError
    from rich.markup import escape
    from rich.table import Table

    from shopseg.cli.display import console
    from shopseg.serve.audiences import build_audience
    from shopseg.serve.filters import AudienceFilters
    from shopseg.serve.run_data import RunData
    from shopseg.serve.taste import load_taste_matcher

    try:
        filters = AudienceFilters(description=text, top=top)
    except ValidationError as error:
        raise ConfigError(f"Cannot read the audience: {error.errors()[0]['msg']}.") from None
    data = RunData.load(run)
    built = build_audience(data, filters, lambda: load_taste_matcher(data))
    console.print("[bold]Understood:[/]")
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
