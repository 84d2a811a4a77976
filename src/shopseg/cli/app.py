"""The ``shopseg`` command: a thin face over the library (see ``shopseg --help``).

User mistakes (:class:`~shopseg.errors.ShopsegError`) print one clear message and exit
with code 2; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from shopseg import __version__
from shopseg.cli.audience_command import audience
from shopseg.cli.config import read_config
from shopseg.cli.demand_command import demand
from shopseg.cli.display import (
    StepProgress,
    console,
    errors,
    k_choice_lines,
    k_choice_table,
    reading_notes,
    recommend_summary,
    rows_table,
    segments_table,
    truth_table,
    validity_table,
)
from shopseg.cli.serve_command import serve
from shopseg.cli.track_command import track
from shopseg.cli.update_command import update
from shopseg.cli.value_command import value
from shopseg.cluster import ALGORITHMS
from shopseg.cluster.requirements import check_k
from shopseg.errors import ConfigError, ShopsegError
from shopseg.features.window import DEFAULT_WINDOW_DAYS
from shopseg.ingest import FORMATS, load_shop, parse_mapping
from shopseg.recommend import DEFAULT_RECOMMENDER, RECOMMENDERS
from shopseg.represent.reducers import REDUCERS as _REDUCER_CLASSES

REDUCERS = sorted(_REDUCER_CLASSES, key=lambda name: name != "pca")

app = typer.Typer(
    name="shopseg",
    help=(
        "Customer segmentation for online shops. Point it at your order export (CSV, Parquet, "
        "Excel; canonical, UCI Online Retail, CDNOW or a customer table) and get named segments, "
        "profiles and a DuckDB file you can query.\n\n"
        "Start with:  shopseg demo"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_debug = {"on": False}

OrdersOpt = Annotated[Path | None, typer.Option("--orders", help="Order lines (one row per line item).")]
CustomersOpt = Annotated[
    Path | None, typer.Option("--customers", help="Customer table (attributes, or a pre-aggregated customer table).")
]
ProductsOpt = Annotated[
    Path | None, typer.Option("--products", help="Product catalogue: product_id, title, description, category.")
]
ReviewsOpt = Annotated[Path | None, typer.Option("--reviews", help="Reviews: customer_id, ts, rating, text.")]
EventsOpt = Annotated[Path | None, typer.Option("--events", help="Browsing events: customer_id, ts, event_type.")]
FormatOpt = Annotated[
    str | None,
    typer.Option(
        "--format", help=f"Layout of the orders file; auto-detected when left out. One of: {', '.join(FORMATS)}."
    ),
]
MapOpt = Annotated[
    str | None,
    typer.Option(
        "--map",
        help="Map your columns onto canonical ones for the orders file: "
        "'ts=InvoiceDate,customer_id=Client,amount=Total'.",
    ),
]
DateFormatOpt = Annotated[
    str | None,
    typer.Option(
        "--date-format",
        help="strptime pattern of the dates, e.g. '%d/%m/%Y %H:%M', when auto-detection is not enough; "
        "or day-first / month-first to settle only which comes first in dates like 03/04/2024.",
    ),
]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="TOML file with inputs, format, mapping (table map.orders), k and seed.")
]
SparkMasterOpt = Annotated[
    str, typer.Option("--spark-master", help="Spark master URL for --engine spark (default: local mode).")
]
SparkConfOpt = Annotated[
    list[str] | None, typer.Option("--spark-conf", help="KEY=VALUE Spark setting for --engine spark; repeatable.")
]
AsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Use only data up to the end of this day (YYYY-MM-DD): the shop as it was then; features are "
        "measured from the next midnight.",
        show_default=False,
    ),
]
PseudonymOpt = Annotated[
    bool,
    typer.Option(
        "--pseudonymise",
        "--pseudonymize",
        help="Replace customer ids by keyed HMAC ids in every output (key from SHOPSEG_PSEUDONYM_KEY).",
    ),
]


def _inputs(
    config: Path | None,
    orders: Path | None,
    customers: Path | None,
    products: Path | None,
    reviews: Path | None,
    events: Path | None,
    format: str | None,
    map: str | None,
    date_format: str | None,
) -> dict[str, object]:
    """Merge the config file (if any) with command-line flags; flags win."""
    settings = read_config(config) if config else {}
    flags = {"orders": orders, "customers": customers, "products": products, "reviews": reviews, "events": events}
    inputs = {table: flags[table] or settings.get(table) for table in flags}
    mapping = dict(settings.get("map", {}))
    if map:
        mapping["orders"] = parse_mapping(map)
    if not any(inputs.values()):
        raise ConfigError("No input given: pass --orders PATH (or --customers PATH for a customer table).")
    fmt = format or settings.get("format")
    if fmt is not None and fmt not in FORMATS:  # before anything is read or created
        raise ConfigError(f"Unknown format '{fmt}'. Known formats: {', '.join(FORMATS)}.")
    return {
        **inputs,
        "format": fmt,
        "mapping": mapping or None,
        "date_format": date_format or settings.get("date_format"),
        "_settings": settings,
    }


def _pseudonym_key(enabled: bool) -> str | None:
    if not enabled:
        return None
    key = os.environ.get("SHOPSEG_PSEUDONYM_KEY")
    if not key:
        raise ConfigError("--pseudonymise needs a secret key in the environment variable SHOPSEG_PSEUDONYM_KEY.")
    return key


@app.callback()
def main(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    """Customer segmentation for online shops."""
    _debug["on"] = debug
    if version:
        console.print(f"shopseg {__version__}")
        raise typer.Exit()


@app.command()
def segment(
    orders: OrdersOpt = None,
    customers: CustomersOpt = None,
    products: ProductsOpt = None,
    reviews: ReviewsOpt = None,
    events: EventsOpt = None,
    format: FormatOpt = None,
    map: MapOpt = None,
    date_format: DateFormatOpt = None,
    k: Annotated[
        str, typer.Option("--k", help="Number of segments, or 'auto' to choose by silhouette (3..10).")
    ] = "auto",
    seed: Annotated[
        int, typer.Option("--seed", help="Random seed: the same inputs and seed give the same segments.")
    ] = 0,
    out: Annotated[Path, typer.Option("--out", help="Folder for the outputs (created if needed).")] = Path(
        "shopseg-out"
    ),
    config: ConfigOpt = None,
    pseudonymise: PseudonymOpt = False,
    min_segment_size: Annotated[
        int,
        typer.Option("--min-segment-size", min=1, help="Segments smaller than this are merged into the nearest one."),
    ] = 50,
    dp_epsilon: Annotated[
        float | None,
        typer.Option("--dp-epsilon", min=0.001, help="Add Laplace noise to published segment aggregates (privacy)."),
    ] = None,
    llm: Annotated[
        str | None,
        typer.Option(
            "--llm",
            help="Name segments with an OpenAI-compatible chat model, e.g. openai:gpt-4o-mini "
            "(base URL from SHOPSEG_LLM_BASE_URL, key from OPENAI_API_KEY); falls back to rules on any failure.",
        ),
    ] = None,
    no_value: Annotated[
        bool, typer.Option("--no-value", help="Skip CLV / P(alive) / churn predictions (faster).")
    ] = False,
    algorithm: Annotated[
        str, typer.Option("--algorithm", help="Clustering algorithm: kmeans, gmm, hdbscan, ward or dec (needs torch).")
    ] = "kmeans",
    noise: Annotated[
        str,
        typer.Option(
            "--noise", help="HDBSCAN only: 'unassigned' keeps noise apart (segment -1), 'nearest' assigns it."
        ),
    ] = "unassigned",
    map_method: Annotated[str, typer.Option("--map-method", help="2-D customer map: pca, umap, auto or none.")] = "pca",
    stability_refits: Annotated[
        int, typer.Option("--stability-refits", min=0, help="Bootstrap refits to measure stability (0 skips).")
    ] = 20,
    sub_segments: Annotated[
        bool,
        typer.Option("--sub-segments", help="Two-level segments: split large segments into named sub-segments."),
    ] = False,
    no_text: Annotated[
        bool, typer.Option("--no-text", help="Segment on behaviour alone: do not embed product texts and reviews.")
    ] = False,
    text_model: Annotated[
        str | None,
        typer.Option(
            "--text-model",
            help="Text encoder: minilm-int8 (default), minilm, minilm-bf16, fast, openai:MODEL, "
            "or the folder of a local sentence-transformers model.",
            show_default=False,
        ),
    ] = None,
    embed_dim: Annotated[
        int, typer.Option("--embed-dim", min=2, max=256, help="Dimensions of the fused behaviour + text vector.")
    ] = 16,
    reducer: Annotated[
        str,
        typer.Option(
            "--reducer",
            help="How behaviour and text are reduced to --embed-dim dimensions: pca (default; the best measured, "
            "docs/segment_quality.md) or autoencoder (needs torch).",
        ),
    ] = "pca",
    embedding_cache: Annotated[
        Path | None,
        typer.Option(
            "--embedding-cache",
            help="DuckDB file caching text embeddings between runs (default ~/.cache/shopseg/embeddings.duckdb, "
            "or $SHOPSEG_CACHE; ':memory:' for none).",
            show_default=False,
        ),
    ] = None,
    recommender: Annotated[
        str | None,
        typer.Option(
            "--recommender",
            help=f"Model for recommendations.parquet: {', '.join(RECOMMENDERS)} (default {DEFAULT_RECOMMENDER}).",
            show_default=False,
        ),
    ] = None,
    no_recommend: Annotated[
        bool, typer.Option("--no-recommend", help="Skip product recommendations (faster; audience --item needs them).")
    ] = False,
    recommend_n: Annotated[
        int | None,
        typer.Option(
            "--recommend-n", min=1, help="Products recommended per customer (default 10).", show_default=False
        ),
    ] = None,
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            help="'local' (default; the shop in memory), 'chunked' (one machine, larger than memory: DuckDB splits "
            "the files, fit on about --fit-sample customers, everybody placed --chunk customers at a time) or "
            "'spark' (fit on a sample, place everybody on Spark; needs pyspark and Java 17+). Both write "
            "all_segments.parquet.",
        ),
    ] = "local",
    spark_master: SparkMasterOpt = "local[*]",
    spark_conf: SparkConfOpt = None,
    fit_sample: Annotated[
        int,
        typer.Option("--fit-sample", min=1, help="--engine chunked/spark: customers the model is fitted on (about)."),
    ] = 200_000,
    chunk: Annotated[
        int, typer.Option("--chunk", min=1, help="--engine chunked: customers placed at a time (bounds memory).")
    ] = 200_000,
    as_of: AsOfOpt = None,
    window_days: Annotated[
        float | None,
        typer.Option(
            "--window-days",
            min=0,
            help=f"Activity window: every feature but recency and tenure (text included) reads each customer's last "
            f"N days (a lapsed customer: the N days before their last purchase); 0: the whole history. Default: "
            f"{DEFAULT_WINDOW_DAYS:g} with --as-of, else the whole history.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Segment customers and write segments, profiles, features, quarantine, run.json and shopseg.duckdb."""
    from shopseg.runner import run_segmentation

    inputs = _inputs(config, orders, customers, products, reviews, events, format, map, date_format)
    settings = inputs.pop("_settings")
    k_value = _parse_k(str(settings.get("k", k)) if k == "auto" else k)
    run = run_segmentation
    engine = _choice("--engine", engine, ["local", "chunked", "spark"])
    if as_of is not None and engine != "local":
        raise ConfigError(f"--as-of needs the local engine (--engine {engine} reads whole files).")
    time_options: dict[str, object] = {} if window_days is None else {"window_days": window_days or None}
    if as_of is not None:
        time_options["as_of"] = as_of
    if engine == "chunked":
        from shopseg.engines.chunked.segment import segment_in_chunks

        if inputs.pop("format"):
            raise ConfigError(
                "--engine chunked reads canonical columns (or renamed by --map): --format needs the local engine."
            )
        settings_chunked = {"fit_sample": fit_sample, "chunk": chunk}

        def run(out: Path, **options: object) -> object:
            return segment_in_chunks(out, **settings_chunked, **options)

    if engine == "spark":
        from shopseg.engines.spark.segment import segment_with_spark

        read = {key: inputs.pop(key) for key in ("format", "mapping", "date_format")}
        read["pseudonymise_key"] = _pseudonym_key(pseudonymise)
        settings_spark = {"master": spark_master, "config": _key_values(spark_conf), "fit_sample": fit_sample}

        def run(out: Path, pseudonymise_key: str | None, **options: object) -> object:
            return segment_with_spark(out, read_options=read, **settings_spark, **options)

    with StepProgress() as progress:
        result = run(
            out,
            **inputs,
            k=k_value,
            seed=int(settings.get("seed", seed)) if seed == 0 else seed,
            pseudonymise_key=_pseudonym_key(pseudonymise),
            min_segment_size=min_segment_size,
            dp_epsilon=dp_epsilon,
            llm=llm,
            value=not no_value,
            algorithm=_choice("--algorithm", algorithm, sorted(ALGORITHMS)),
            noise=_choice("--noise", noise, ["unassigned", "nearest"]),
            map_method=None if map_method == "none" else _choice("--map-method", map_method, ["pca", "umap", "auto"]),
            stability_refits=stability_refits,
            on_step=progress,
            use_text=not no_text and bool(settings.get("text", True)),
            text_model=text_model or settings.get("text_model"),
            embed_dim=int(settings.get("embed_dim", embed_dim)) if embed_dim == 16 else embed_dim,
            reducer=_reducer(reducer, settings),
            embedding_cache=embedding_cache,
            on_text_progress=progress.text,
            sub_segments=sub_segments,
            recommender=_recommender(recommender, no_recommend, settings),
            recommend_n=_recommend_n(recommend_n, settings),
            **time_options,
        )
    console.print(rows_table(result.shop))
    _print_k_choice(result.record)
    console.print(segments_table(result.record))
    validity = result.record.get("value", {}).get("predictive_validity")
    if isinstance(validity, list):
        console.print(validity_table(validity))
    for warning in result.record.get("value", {}).get("warnings", []):
        console.print(f"  [yellow]value warning:[/] {_escape(warning)}")
    console.print(recommend_summary(result.record))
    rows = result.record["rows"]
    console.print(
        f"Read {rows['rows_read']:,} rows: kept {rows['rows_kept']:,}, quarantined {rows['rows_quarantined']:,}, "
        f"duplicates dropped {rows['duplicates_dropped']:,}, guest rows {rows['guest_rows']:,}."
    )
    for note in reading_notes(result.shop):
        console.print(f"  note: {_escape(note)}")
    console.print(
        f"Outputs in [bold]{_escape(str(out))}[/]: segments.parquet/csv, profiles.json, features.parquet, "
        "quarantine.csv, run.json, shopseg.duckdb"
        + (", recommendations.parquet" if (out / "recommendations.parquet").exists() else "")
        + (", all_segments.parquet" if (out / "all_segments.parquet").exists() else "")
    )
    spark = result.record.get("engine")
    if spark and spark["name"] == "chunked":
        console.print(
            f"Chunked: fitted on {spark['fitted_on']:,} of {spark['customers']:,} customers, placed "
            f"{spark['placed']:,} in {spark['chunks']:,} chunks; the fitted customers' placement agrees with the fit "
            f"for {spark['agreement_with_fit']:.2%}."
        )
    elif spark:
        console.print(
            f"Spark ({spark['master']}): fitted on {spark['fitted_on']:,} of {spark['customers']:,} customers, "
            f"placed {spark['placed']:,}; the fitted customers' segments agree with Spark's for "
            f"{spark['agreement_with_fit']:.2%}."
        )


def _print_k_choice(record: dict[str, object]) -> None:
    """The automatic choice of k (candidates, rule, why) and every merge, before the segments."""
    table = k_choice_table(record)
    if table is not None:
        console.print(table)
    for line in k_choice_lines(record):
        console.print(line)


def _key_values(items: list[str] | None) -> dict[str, str]:
    """KEY=VALUE options as a dict; a clear error for anything else."""
    pairs = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--spark-conf '{item}': write it as KEY=VALUE, e.g. spark.executor.memory=4g.")
        pairs[key.strip()] = value.strip()
    return pairs


def _recommender(flag: str | None, no_recommend: bool, settings: dict[str, object]) -> str | None:
    """--recommender, else the config's ``recommender`` ("none" skips), else the default; None: skip."""
    if no_recommend and flag:
        raise ConfigError("Give either --recommender or --no-recommend, not both.")
    if no_recommend:
        return None
    name = str(flag or settings.get("recommender", DEFAULT_RECOMMENDER))
    return None if name == "none" else _choice("--recommender", name, list(RECOMMENDERS))


def _recommend_n(flag: int | None, settings: dict[str, object]) -> int:
    """--recommend-n, else the config's ``recommend_n``, else 10."""
    value = flag if flag is not None else settings.get("recommend_n", 10)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"recommend_n must be a positive whole number of products, got {value!r}.")
    return value


def _reducer(flag: str, settings: dict[str, object]) -> str:
    """--reducer, else the config's ``reducer``, else pca (the flag's default)."""
    value = flag if flag != "pca" else str(settings.get("reducer", flag))
    return _choice("--reducer", value, REDUCERS)


def _choice(flag: str, value: str, allowed: list[str]) -> str:
    if value not in allowed:
        raise ConfigError(f"{flag} must be one of {', '.join(allowed)}; got '{value}'.")
    return value


def _parse_k(value: str) -> int | None:
    if value.strip().lower() == "auto":
        return None
    try:
        k = int(value)
    except ValueError as error:
        raise ConfigError(f"--k must be 'auto' or a whole number, got '{value}'.") from error
    check_k(k)
    return k


@app.command()
def validate(
    orders: OrdersOpt = None,
    customers: CustomersOpt = None,
    products: ProductsOpt = None,
    reviews: ReviewsOpt = None,
    events: EventsOpt = None,
    format: FormatOpt = None,
    map: MapOpt = None,
    date_format: DateFormatOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="Also write quarantine.csv into this folder.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Read and check the input files only: row counts per file and the quarantine."""
    from shopseg.export.run_folder import write_atomically
    from shopseg.export.safe_csv import write_safe_csv

    inputs = _inputs(config, orders, customers, products, reviews, events, format, map, date_format)
    inputs.pop("_settings")
    shop = load_shop(**inputs)
    console.print(rows_table(shop))
    reasons = shop.quarantine["reason"].value_counts() if not shop.quarantine.empty else {}
    for reason, count in dict(reasons).items():
        console.print(f"  quarantined: {count:,} × {reason}")
    for note in reading_notes(shop):
        console.print(f"  note: {_escape(note)}")
    console.print(f"{len(shop.customer_ids()):,} customers can be segmented.")
    if out is not None:
        write_atomically(out, lambda folder: write_safe_csv(shop.quarantine, folder / "quarantine.csv"))
        console.print(f"Quarantine written to {out / 'quarantine.csv'}")


@app.command()
def assign(
    model: Annotated[Path, typer.Option("--model", help="A run folder written by 'shopseg segment'.")],
    orders: OrdersOpt = None,
    customers: CustomersOpt = None,
    products: ProductsOpt = None,
    reviews: ReviewsOpt = None,
    events: EventsOpt = None,
    format: FormatOpt = None,
    map: MapOpt = None,
    date_format: DateFormatOpt = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for assignments.parquet/.csv.")] = Path("shopseg-assigned"),
    config: ConfigOpt = None,
    engine: Annotated[
        str, typer.Option("--engine", help="'local' (DuckDB, default) or 'spark' (needs pyspark and Java 17+).")
    ] = "local",
    spark_master: SparkMasterOpt = "local[*]",
    spark_conf: SparkConfOpt = None,
    recommend_n: Annotated[
        int,
        typer.Option(
            "--recommend-n",
            min=0,
            help="Products recommended per new customer from the run's ALS factors (0: none; local engine).",
        ),
    ] = 10,
    as_of: AsOfOpt = None,
) -> None:
    """Place new customers into a saved run's segments, without refitting."""
    from shopseg.assign import assign_customers, recommend_new_customers
    from shopseg.export.run_folder import prepare_output, write_atomically
    from shopseg.export.safe_csv import write_safe_csv
    from shopseg.features.window import as_of_reference, cut_at

    engine = _choice("--engine", engine, ["local", "spark"])
    if as_of is not None and engine != "local":
        raise ConfigError("--as-of needs the local engine (--engine spark reads whole files).")
    reference = as_of_reference(as_of) if as_of is not None else None
    inputs = _inputs(config, orders, customers, products, reviews, events, format, map, date_format)
    inputs.pop("_settings")
    prepare_output(out)
    checked: dict = {}
    recommended = None
    if engine == "spark":
        from shopseg.engines.spark.assign import assign_files_with_spark, assign_with_spark
        from shopseg.engines.spark.reading import is_parquet

        paths = {
            role: inputs[role] for role in ("orders", "customers", "products", "reviews", "events") if inputs[role]
        }
        plain = not (inputs["format"] or inputs["mapping"] or inputs["date_format"])
        settings = {"master": spark_master, "config": _key_values(spark_conf)}
        if plain and all(is_parquet(path) for path in paths.values()):  # Spark reads the files itself
            paths.pop("customers", None)  # attributes are not features on Spark; the model check names them
            table, checked = assign_files_with_spark(model, paths, **settings)
        else:
            table = assign_with_spark(model, load_shop(**inputs), **settings)
    else:
        new_shop = load_shop(**inputs)
        if reference is not None:
            new_shop = cut_at(new_shop, reference, as_of)
        table = assign_customers(model, new_shop, reference_ts=reference)
        recommended = recommend_new_customers(model, new_shop, n=recommend_n) if recommend_n > 0 else None

    def write(folder: Path) -> None:
        table.to_parquet(folder / "assignments.parquet", index=False)
        write_safe_csv(table, folder / "assignments.csv")
        if recommended is not None:
            recommended.to_parquet(folder / "recommendations.parquet", index=False)
            write_safe_csv(recommended, folder / "recommendations.csv")
        for role, read in checked.items():  # rows Spark rejected, with their reasons
            if read.counts["quarantined"]:
                read.rejected.write.parquet(str(folder / f"quarantine_{role}.parquet"))

    write_atomically(out, write)
    counts = table.groupby(["segment_id", "segment_name"]).size().reset_index(name="customers")
    for row in counts.itertuples(index=False):
        console.print(f"  {row.segment_id:>3}  {_escape(str(row.segment_name))}: {row.customers:,}")
    for role, read in checked.items():
        c = read.counts
        console.print(
            f"  {role}: {c['rows_read']:,} rows read by Spark, {c['kept']:,} kept, {c['quarantined']:,} quarantined"
            f"{f' (quarantine_{role}.parquet)' if c['quarantined'] else ''}, {c['duplicates']:,} duplicates, "
            f"{c['guests']:,} guest rows"
        )
    console.print(f"{len(table):,} customers assigned; written to {_escape(str(out))}/assignments.parquet and .csv")
    if recommended is not None:
        console.print(
            f"{recommended['customer_id'].nunique():,} customers got recommendations "
            f"(ALS factors of the run): recommendations.parquet and .csv"
        )


@app.command()
def generate(
    customers: Annotated[int, typer.Option("--customers", help="Number of customers.", min=1)] = 5000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same shop).")] = 0,
    out: Annotated[Path, typer.Option("--out", help="Folder for the table files.")] = Path("shopseg-shop"),
    file_format: Annotated[
        str, typer.Option("--format", help="csv or parquet (one file per table; parquet is streamed and reads faster).")
    ] = "csv",
    chunk: Annotated[
        int,
        typer.Option("--chunk", min=1, help="Customers generated at a time: memory stays bounded (~3 GB per 200,000)."),
    ] = 200_000,
    activity: Annotated[
        float,
        typer.Option(
            "--activity",
            min=0.1,
            help="Multiplies lines per order and reviews per writer (2.2: ~20 lines and ~1 review per customer).",
        ),
    ] = 1.0,
    periods: Annotated[
        int,
        typer.Option(
            "--periods",
            min=1,
            help="Periods of history: with 2 or more, customers move between planted segments from one period to "
            "the next (truth_periods.csv: the segment per period; periods.csv: each period's dates and --as-of day).",
        ),
    ] = 1,
    migrate: Annotated[
        float,
        typer.Option("--migrate", min=0.0, max=1.0, help="Share of customers who change segment in each later period."),
    ] = 0.25,
    period_days: Annotated[
        int, typer.Option("--period-days", min=1, help="Length of each period after the first, in days.")
    ] = 365,
) -> None:
    """Write a synthetic shop with planted segments (canonical tables and truth)."""
    from shopseg.export.run_folder import check_writable
    from shopseg.generate import FILE_FORMATS, write_shop_chunked
    from shopseg.generate.periods import PeriodPlan
    from shopseg.generate.shop import DEFAULT_END_DATE, end_seconds

    if file_format not in FILE_FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FILE_FORMATS)}, got '{file_format}'.")
    check_writable(out)
    plan = PeriodPlan(count=periods, days=period_days, migrate=migrate) if periods > 1 else None
    started = time.perf_counter()
    with StepProgress() as progress:
        progress("generate", "start")
        paths = write_shop_chunked(
            customers, out, seed=seed, chunk=chunk, file_format=file_format, activity=activity, plan=plan
        )
        progress("generate", "end")
    for name, path in paths.items():
        console.print(f"  {name}: {_escape(str(path))}")
    console.print(f"{customers:,} customers generated in {time.perf_counter() - started:.1f} s")
    if plan is not None:
        for row in plan.table(end_seconds(DEFAULT_END_DATE)).itertuples(index=False):
            console.print(f"  period {row.period}: {row.start} to {row.as_of} (segment it with --as-of {row.as_of})")


@app.command()
def demo(
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the generated shop (data/) and the run's outputs (run/).")
    ] = Path("shopseg-demo"),
    customers: Annotated[int, typer.Option("--customers", help="Customers in the generated shop.", min=10)] = 5000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
) -> None:
    """Generate a synthetic shop and segment it: the whole pipeline in one command."""
    import pandas as pd

    from shopseg.export.run_folder import check_writable, prepare_output
    from shopseg.generate import agreement_with_truth, generate_shop, write_shop
    from shopseg.runner import run_segmentation

    data, run_dir = check_writable(out / "data"), prepare_output(out / "run")
    with StepProgress() as progress:
        progress("generate", "start")
        paths = write_shop(generate_shop(customers, seed=seed), data)
        progress("generate", "end")
        result = run_segmentation(
            run_dir,
            orders=paths["orders"],
            customers=paths["customers"],
            products=paths["products"],
            reviews=paths["reviews"],
            events=paths["events"],
            seed=seed,
            on_step=progress,
        )
    _print_k_choice(result.record)
    console.print(segments_table(result.record))
    truth = pd.read_csv(paths["truth"], dtype={"customer_id": str})
    console.print(truth_table(agreement_with_truth(result.segmenter.assignments(), truth)))
    console.print(recommend_summary(result.record))
    console.print(
        f"Outputs in [bold]{_escape(str(run_dir))}[/]; the generated shop is in {_escape(str(data))} "
        "(truth.csv holds the planted segments)."
    )


app.command()(value)
app.command()(serve)
app.command()(audience)
app.command()(demand)
app.command()(track)
app.command()(update)


def run() -> None:
    """Console entry point: user mistakes exit 2 with a message, never a traceback."""
    from shopseg.export.run_folder import Terminated, stop_on_sigterm

    try:
        with stop_on_sigterm():  # SIGTERM unwinds like Ctrl-C: no half-written temporary folder stays
            code = app(standalone_mode=False)
    except ShopsegError as error:
        if _debug["on"]:
            raise
        errors.print(f"[bold red]Error:[/] {_escape(str(error))}")
        sys.exit(error.exit_code)
    except typer.Exit as exit_:
        sys.exit(exit_.exit_code)
    except typer.Abort:
        errors.print("Aborted.")
        sys.exit(130)
    except KeyboardInterrupt as interrupt:
        errors.print("Interrupted.")
        sys.exit(143 if isinstance(interrupt, Terminated) else 130)
    except OSError as error:  # e.g. a disk full or a file vanishing mid-run
        if _debug["on"]:
            raise
        errors.print(f"[bold red]Error:[/] {_escape(str(error))}")
        sys.exit(2)
    except Exception as error:  # a bug in shopseg, not a user mistake
        if isinstance(error, _usage_errors()):  # unknown option, bad value, missing argument
            if hasattr(error, "show"):
                error.show()
            else:  # pragma: no cover - a bare TyperException
                errors.print(f"[bold red]Error:[/] {_escape(str(error))}")
            sys.exit(error.exit_code)
        if _debug["on"]:
            raise
        errors.print(
            f"[bold red]Internal error:[/] {_escape(type(error).__name__)}: {_escape(str(error))}\n"
            "This is a bug in shopseg. Run again with --debug for the traceback and report it."
        )
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


def _usage_errors() -> tuple[type[Exception], ...]:
    """Command-line usage errors: click's, or typer's own (newer typer bundles click under it)."""
    kinds: list[type[Exception]] = []
    if hasattr(typer, "TyperException"):
        kinds.append(typer.TyperException)
    try:
        import click

        kinds.append(click.ClickException)
    except ImportError:  # pragma: no cover - newer typer does not need click
        pass
    return tuple(kinds)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
