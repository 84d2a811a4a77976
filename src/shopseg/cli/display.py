"""Terminal output for the CLI: step progress, tables of segments and row counts."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from shopseg.shop import Shop

console = Console()
#: Error messages are never hard-wrapped: a path or value stays on one line in logs.
errors = Console(stderr=True, soft_wrap=True)

STEP_LABELS = {
    "read": "Reading and checking input files",
    "features": "Computing customer features",
    "scale": "Scaling features",
    "embed": "Embedding product texts and reviews (transformer)",
    "fuse": "Fusing behaviour and text into one representation",
    "cluster": "Clustering customers (choosing k)",
    "value": "Predicting customer value (CLV, P(alive), churn risk)",
    "validity": "Scoring segments on the holdout period (eta squared vs RFM)",
    "stability": "Measuring segment stability (bootstrap refits)",
    "map": "Projecting customers onto a 2-D map",
    "profile": "Profiling and naming segments",
    "llm": "Asking the LLM to name segments",
    "recommend": "Recommending products (evaluating recommenders on a time split)",
    "write": "Writing outputs",
    "generate": "Generating a synthetic shop",
}


class StepProgress:
    """A spinner with elapsed time for each pipeline step (pass as ``on_step``)."""

    def __init__(self) -> None:
        self.progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console, transient=False
        )
        self.tasks: dict[str, int] = {}

    def __enter__(self) -> StepProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def text(self, what: str, done: int, total: int, texts_per_second: float) -> None:
        """Progress of text embedding (pass as ``on_text_progress``): a bar per source with texts/s."""
        key = f"embed:{what}"
        description = f"  embedding {what}: {done:,}/{total:,} texts ({texts_per_second:,.0f} texts/s)"
        if key not in self.tasks:
            self.tasks[key] = self.progress.add_task(description, total=max(total, 1))
        self.progress.update(self.tasks[key], completed=done, description=description)

    def __call__(self, step: str, phase: str) -> None:
        label = STEP_LABELS.get(step, step)
        if phase == "start":
            self.tasks[step] = self.progress.add_task(label, total=1)
        elif step in self.tasks:
            self.progress.update(self.tasks[step], completed=1, description=f"[green]✓[/] {label}")


def rows_table(shop: Shop) -> Table:
    """Rows read / kept / quarantined per input file."""
    table = Table(title="Input files")
    for column in ("file", "as", "format", "read", "kept", "quarantined", "duplicates", "guests"):
        table.add_column(column, justify="right" if column not in ("file", "as", "format") else "left")
    for f in shop.files:
        table.add_row(
            escape(f.path),
            f.role,
            f.format,
            f"{f.rows_read:,}",
            f"{f.kept:,}",
            f"{f.quarantined:,}",
            f"{f.duplicates:,}",
            f"{f.guests:,}",
        )
    return table


def segments_table(record: dict[str, object]) -> Table:
    """Segments of a run with size and share."""
    table = Table(title=f"{len(record['segments'])} segments of {record['customers_segmented']:,} customers")
    table.add_column("id", justify="right")
    table.add_column("segment")
    table.add_column("customers", justify="right")
    table.add_column("share", justify="right")
    for segment in record["segments"]:
        table.add_row(
            str(segment["segment_id"]), escape(segment["name"]), f"{segment['size']:,}", f"{segment['share']:.1%}"
        )
    return table


#: Columns of the k-choice table on screen: (record key, header, format).
_CHOICE_COLUMNS = (
    ("silhouette", "silhouette", "{:.3f}"),
    ("silhouette_se", "± s.e.", "{:.3f}"),
    ("calinski_harabasz", "Calinski-Harabasz", "{:,.0f}"),
    ("davies_bouldin", "Davies-Bouldin", "{:.2f}"),
    ("bic", "BIC", "{:,.0f}"),
)


def k_choice_table(record: dict[str, object]) -> Table | None:
    """The automatic choice of k: every candidate k with its scores, the chosen one marked; None if k was fixed."""
    model = record.get("model") or {}
    candidates = model.get("candidates") or []
    if not candidates:
        return None
    shown = [column for column in _CHOICE_COLUMNS if any(c.get(column[0]) is not None for c in candidates)]
    table = Table(title=f"Choosing k: {escape(str(model.get('selection', '')))}", title_justify="left")
    table.add_column("k", justify="right")
    for _, header, _ in shown:
        table.add_column(header, justify="right")
    table.add_column("")
    for row in candidates:
        cells = [fmt.format(row[key]) if row.get(key) is not None else "-" for key, _, fmt in shown]
        style = "bold green" if row.get("chosen") else None
        table.add_row(str(row["k"]), *cells, "← chosen" if row.get("chosen") else "", style=style)
    return table


def k_choice_lines(record: dict[str, object]) -> list[str]:
    """Why this k, and every merge of a small segment, as lines for the console."""
    model = record.get("model") or {}
    lines = []
    if model.get("why"):
        lines.append(f"[bold]Why:[/] {escape(str(model['why']))}")
    for merge in model.get("merges") or []:
        lines.append(
            f"[bold]Merged:[/] found segment {merge['segment']} ({merge['size']:,} customers) into segment "
            f"{merge['into']} '{escape(str(merge.get('into_name', '')))}', the nearest larger one: "
            f"{escape(str(merge['reason']))}."
        )
    published = model.get("segments_published")
    if model.get("merges") and published is not None:
        lines.append(f"{model.get('k_chosen')} segments found, {published} published after merging.")
    return lines


def truth_table(agreement: object) -> Table:
    """Where each planted segment of a generated shop landed (a :class:`~shopseg.generate.TruthAgreement`)."""
    table = Table(
        title=f"Against the planted segments (truth.csv): adjusted Rand index {agreement.ari:.3f} "
        f"over {agreement.customers:,} customers (1 = identical, 0 = chance)",
        title_justify="left",
    )
    for column in ("planted segment", "customers", "mostly in segment", "share"):
        table.add_column(column, justify="right" if column in ("customers", "share") else "left")
    for row in agreement.table.itertuples(index=False):
        table.add_row(
            escape(str(row.planted)),
            f"{row.customers:,}",
            f"{row.segment_id}: {escape(str(row.segment_name))}",
            f"{row.share:.0%}",
        )
    return table


def validity_table(rows: list[dict[str, object]]) -> Table:
    """Eta squared of holdout spend and churn: segments vs RFM groupings of the same size."""
    table = Table(title="How well segments predict the holdout period (eta squared, higher is better)")
    for column in ("grouping", "groups", "holdout spend", "holdout churn"):
        table.add_column(column, justify="left" if column == "grouping" else "right")
    for row in rows:
        table.add_row(
            str(row["grouping"]),
            str(row["groups"]),
            f"{row['eta2_holdout_spend']:.3f}",
            f"{row['eta2_holdout_churn']:.3f}",
        )
    return table


def reading_notes(shop: Shop) -> list[str]:
    """What reading the files noticed: the shop's notes, then each file's (encodings, skipped sheets ...)."""
    return [*shop.notes, *(note for report in shop.files for note in report.notes)]


def recommend_summary(record: dict[str, object]) -> str:
    """One line on the recommend step of a run: what was written, or why nothing was."""
    section = record.get("recommend") or {}
    if not isinstance(section, dict) or section.get("skipped"):
        reason = section.get("skipped", "not run") if isinstance(section, dict) else "not run"
        return f"Recommendations: none ({escape(str(reason))})."
    best = (section.get("evaluation") or {}).get("best_model")
    return (
        f"Recommendations: {section.get('n')} per customer for {section.get('customers', 0):,} customers "
        f"with {escape(str(section.get('model')))}"
        + (f" (best on the time split: {escape(str(best))}; see recommendations_eval.json)." if best else ".")
    )
