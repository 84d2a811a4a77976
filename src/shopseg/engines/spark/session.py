"""The SparkSession factory of the Spark engine.

:func:`spark_session` starts (or reuses) a session configured for shopseg:

* ``master`` defaults to ``local[*]`` (every core of this machine); any cluster URL works
  (``spark://host:7077``, ``yarn``, ``k8s://...``), as does leaving it to ``spark-submit``
  (``master=None`` with ``SPARK_MASTER`` / ``--master`` set outside);
* Arrow is on, so pandas <-> Spark transfers and ``mapInPandas`` move columnar batches;
* the session time zone is UTC: canonical timestamps are time-zone-naive, and in UTC Spark's
  ``hour()``, ``weekday()`` and second differences read them as the DuckDB stage does;
* in local mode the shuffle has ``2 x cores`` partitions instead of Spark's 200, which on
  small data spend more time scheduling than computing (adaptive execution still merges
  small partitions on clusters, where the default is kept);
* in local mode, Python workers run the interpreter that runs shopseg (``PYSPARK_PYTHON``
  is set to it unless already set), so they import the same packages; on a cluster the
  executors' Python is the cluster's business (``spark.pyspark.python`` / ``PYSPARK_PYTHON``),
  and it must have shopseg installed.

``config`` passes any other Spark setting through (``{"spark.executor.memory": "8g"}``);
it wins over the defaults above. Without PySpark or Java a :class:`ShopsegError` says what
to install instead of a Py4J traceback.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

from shopseg.errors import ShopsegError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DEFAULT_MASTER = "local[*]"
APP_NAME = "shopseg"

#: Settings every shopseg session gets unless ``config`` overrides them.
BASE_CONFIG: dict[str, str] = {
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.execution.arrow.pyspark.fallback.enabled": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.adaptive.enabled": "true",
    "spark.ui.showConsoleProgress": "false",
}


def require_pyspark() -> None:
    """Raise a :class:`ShopsegError` saying how to install PySpark when it is missing."""
    try:
        import pyspark  # noqa: F401
    except ImportError as error:
        raise ShopsegError(
            "The Spark engine needs PySpark, which is not installed: pip install 'pyspark>=3.5' "
            "(and Java 17 or newer on the machine)."
        ) from error


def require_java() -> None:
    """Raise a :class:`ShopsegError` when no Java runtime can be found (JAVA_HOME or PATH)."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and os.path.exists(os.path.join(java_home, "bin", "java")):
        return
    if shutil.which("java"):
        return
    raise ShopsegError(
        "The Spark engine needs Java 17 or newer, and none was found: install a JDK "
        "(e.g. apt-get install openjdk-17-jre-headless) or set JAVA_HOME to one."
    )


def local_cores(master: str) -> int | None:
    """Cores of a ``local`` master (``local`` -> 1, ``local[4]`` -> 4, ``local[*]`` -> this machine); None otherwise."""
    if master == "local":
        return 1
    match = re.fullmatch(r"local\[(\*|\d+)(?:,\s*\d+)?\]", master)
    if match is None:
        return None
    return os.cpu_count() or 1 if match.group(1) == "*" else int(match.group(1))


def local_driver_memory(total_bytes: int | None = None) -> str:
    """JVM heap for local mode, where the driver is the only executor: a quarter of RAM, 2-16 GB.

    Spark's default of 1 GB runs out at a few hundred thousand customers once text vectors
    (384 floats a row) are joined and aggregated; the Python workers need the rest of the RAM.
    """
    if total_bytes is None:
        try:
            total_bytes = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            total_bytes = 8 << 30
    gigabytes = min(16, max(2, total_bytes // 4 >> 30))
    return f"{gigabytes}g"


def session_config(master: str | None, config: Mapping[str, str] | None = None) -> dict[str, str]:
    """The settings :func:`spark_session` applies: base settings, local-mode sizing, then ``config``."""
    settings = dict(BASE_CONFIG)
    cores = local_cores(master) if master else None
    if cores is not None:
        settings["spark.sql.shuffle.partitions"] = str(max(2, 2 * cores))
        settings["spark.default.parallelism"] = str(max(2, 2 * cores))
    if cores is not None:
        settings["spark.pyspark.python"] = os.environ.get("PYSPARK_PYTHON", sys.executable)
        settings["spark.driver.memory"] = local_driver_memory()
    settings.update({str(k): str(v) for k, v in (config or {}).items()})
    return settings


def spark_session(
    master: str | None = DEFAULT_MASTER,
    config: Mapping[str, str] | None = None,
    app_name: str = APP_NAME,
) -> SparkSession:
    """A SparkSession for shopseg (see the module docstring); an existing one is reused.

    ``master=None`` leaves the master to ``spark-submit`` or the Spark configuration files.
    Settings of an already running session that Spark fixes at start (master, cores, memory)
    are not changed by a second call: stop it first to change them.
    """
    require_pyspark()
    require_java()
    from pyspark.sql import SparkSession

    if master and local_cores(master) is not None:
        # PySpark started from Python reads the workers' interpreter from the environment
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    for key, value in session_config(master, config).items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as error:  # Py4J / gateway failures: say what to check, keep the cause
        raise ShopsegError(
            f"Spark did not start (master {master or 'from the Spark configuration'}): {error}. "
            "Check that Java 17+ runs (java -version), that JAVA_HOME points to it, "
            "and that the master URL is reachable."
        ) from error
    return session
