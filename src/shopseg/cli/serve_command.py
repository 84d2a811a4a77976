"""``shopseg serve``: the REST API and dashboard over a run folder written by ``shopseg segment``.

A thin face over :mod:`shopseg.serve`, registered with ``app.command()(serve)``. The serving
stack (fastapi, uvicorn, jinja2) is imported only when the command runs, so the rest of the
CLI works without the ``serve`` extra (``shopseg audience`` is :mod:`shopseg.cli.audience_command`).
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
from pathlib import Path
from typing import Annotated

import typer

from shopseg.errors import ConfigError

API_KEY_ENV = "SHOPSEG_API_KEY"
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
