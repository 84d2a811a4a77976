"""What one app serves, in one object: the loaded run, its audiences, the key check and lazily built parts.

:func:`create_app <shopseg.serve.app.create_app>` makes one :class:`ServeContext` and keeps
it on ``app.state``; routes reach it through the :func:`context` dependency. No module
global holds state, so two apps (two runs, or tests) live side by side.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from shopseg.audience import TopicMatcher
from shopseg.errors import ShopsegError
from shopseg.live import LiveModel
from shopseg.run_data import RunData
from shopseg.serve.audiences import AudienceStore
from shopseg.serve.charts import Chart
from shopseg.serve.security import KeyCheck, NotAuthorised

T = TypeVar("T")
log = logging.getLogger("shopseg.serve")


class Lazy(Generic[T]):
    """A value built on first use, once, even when several threads ask at the same time."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._value: T | None = None
        self._lock = threading.Lock()

    @property
    def ready(self) -> bool:
        """Whether the value is built already (a call returns at once)."""
        return self._value is not None

    def __call__(self) -> T:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._build()
        return self._value


@dataclass
class ServeContext:
    """The state of one app; see the module docstring.

    ``views(run)`` builds the parts derived from a run (topic matcher, overview charts);
    :meth:`follow_reruns` uses it when a rerun replaced the served folder.
    """

    run: RunData
    keys: KeyCheck
    views: Callable[[RunData], tuple[Lazy[TopicMatcher], Lazy[list[Chart]]]]
    audiences: AudienceStore = field(default_factory=AudienceStore)
    max_body_bytes: int = 5_000_000
    topics: Lazy[TopicMatcher] = field(init=False)
    overview: Lazy[list[Chart]] = field(init=False)
    #: The real-time update's model of the run (histories and arrays), built on the first update.
    live: Lazy[LiveModel] = field(init=False)
    _reload_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self.topics, self.overview = self.views(self.run)
        self.live = live_model(self.run)

    def follow_reruns(self) -> None:
        """Serve the newer run when a rerun replaced the folder (one stat per request when it did not).

        Everything derived from the earlier run goes with it: views and audiences, whose
        customers and segments belonged to that run.
        """
        if not self.run.replaced():
            return
        with self._reload_lock:
            if not self.run.replaced():
                return  # another request reloaded it first
            run = RunData.load(self.run.run_dir)
            self.topics, self.overview = self.views(run)
            self.live = live_model(run)
            self.audiences = AudienceStore(self.audiences.max_items)
            self.run = run
            log.info("the run folder was replaced by a newer run: serving the new run")


def settle_heap() -> None:
    """Exempt everything loaded so far from garbage collection (``gc.freeze``).

    A served run holds millions of long-lived Python objects (frames, histories, lookups), and
    every full collection walked them all while requests waited: under load (16 clients, wrk,
    2-core machine) ``GET /health`` had p50 5 ms but p99 96 ms; with the loaded objects frozen
    its p99 is 11 ms (benchmarks/realtime_load.py). Frozen objects are still freed by reference
    counting when a replaced run is dropped; only cycles among them would stay, and a few
    stale cycles per rerun cost less than the stalls. Called after the run and after its live
    model are loaded.
    """
    gc.collect()
    gc.freeze()


def live_model(run: RunData) -> Lazy[LiveModel]:
    """The run's :class:`~shopseg.live.model.LiveModel`, built once on first use (a run without a store cannot)."""

    def build() -> LiveModel:
        try:
            live = LiveModel.build(run)
        except FileNotFoundError as error:
            raise ShopsegError(f"{error}: real-time updates need the run's store.") from None
        settle_heap()
        return live

    return Lazy(build)


def context(request: Request) -> ServeContext:
    """FastAPI dependency: the app's :class:`ServeContext`, following a rerun of its folder."""
    ctx: ServeContext = request.app.state.shopseg
    ctx.follow_reruns()
    return ctx


async def context_dependency(request: Request) -> ServeContext:
    """:func:`context` as an async dependency: answered on the event loop, not in a thread of the pool.

    FastAPI runs plain-function dependencies in its thread pool, a hand-off per request that
    the real-time update cannot afford; only loading a rerun (rare, slow) goes to a thread.
    """
    ctx: ServeContext = request.app.state.shopseg
    if ctx.run.replaced():
        await run_in_threadpool(ctx.follow_reruns)
    return ctx


#: Route parameter type for the app's context (``ctx: Ctx``).
Ctx = Annotated[ServeContext, Depends(context_dependency)]


async def require_key(request: Request) -> None:
    """FastAPI dependency: 401 unless the request carries the API key (header or dashboard cookie)."""
    if not (await context_dependency(request)).keys.authorised(request):
        raise NotAuthorised()


def wants_html(request: Request) -> bool:
    """True for a browser asking for a page (Accept names text/html and not JSON)."""
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "application/json" not in accept
