"""An output folder switches as a whole: the new run or the earlier one, never a mix, no leftovers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from shopseg.errors import OutputError
from shopseg.export import run_folder
from shopseg.export.run_folder import MANIFEST, prepare_output, write_atomically
from shopseg.runner import run_segmentation


def files(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(folder.iterdir()) if p.is_file() and p.name != MANIFEST}


def writer(**contents: str):
    def write(folder: Path) -> None:
        for name, text in contents.items():
            (folder / name).write_text(text)

    return write


def hidden(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def test_a_rerun_replaces_the_whole_folder(tmp_path: Path) -> None:
    out = tmp_path / "run"
    write_atomically(out, writer(**{"segments.csv": "first", "recommendations.parquet": "first"}))
    (out / "model").mkdir()
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["entries"] == ["recommendations.parquet", "segments.csv"]
    (out / MANIFEST).write_text(json.dumps({**manifest, "entries": [*manifest["entries"], "model"]}))

    write_atomically(out, writer(**{"segments.csv": "second"}))
    assert files(out) == {"segments.csv": "second"}  # no stale recommendations or model/ from the first run
    assert not (out / "model").exists()
    assert hidden(tmp_path) == []  # no temporary folder left


def test_the_switch_is_one_exchange_on_linux(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("renameat2 is Linux only")
    out = tmp_path / "run"
    write_atomically(out, writer(a="1"))
    calls: list[tuple[Path, Path]] = []
    exchange = run_folder._exchange
    monkeypatch.setattr(run_folder, "_exchange", lambda a, b: calls.append((a, b)) or exchange(a, b))
    monkeypatch.setattr(run_folder.os, "rename", lambda *a: pytest.fail(f"rename {a} instead of one exchange"))
    write_atomically(out, writer(b="2"))
    assert len(calls) == 1 and files(out) == {"b": "2"}


def test_without_exchange_the_fallback_never_mixes_and_restores_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "run"
    write_atomically(out, writer(a="1"))
    monkeypatch.setattr(run_folder, "_exchange", lambda a, b: False)
    write_atomically(out, writer(b="2"))
    assert files(out) == {"b": "2"} and hidden(tmp_path) == []

    real_rename = os.rename

    def interrupted(source: os.PathLike, target: os.PathLike) -> None:
        if Path(source).name.startswith(".run.tmp-"):  # the moment between moving the old run away and the new in
            raise KeyboardInterrupt
        real_rename(source, target)

    monkeypatch.setattr(run_folder.os, "rename", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomically(out, writer(c="3"))
    assert files(out) == {"b": "2"} and hidden(tmp_path) == []


def test_a_failed_write_keeps_the_earlier_run(tmp_path: Path) -> None:
    out = tmp_path / "run"
    write_atomically(out, writer(a="1"))

    def broken(folder: Path) -> None:
        (folder / "a").write_text("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OutputError, match="No space left on device"):
        write_atomically(out, broken)
    assert files(out) == {"a": "1"} and hidden(tmp_path) == []


def test_a_folder_shopseg_did_not_write_is_refused_not_replaced(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.docx").write_text("years of work")
    with pytest.raises(OutputError, match="not written by shopseg"):
        write_atomically(mine, writer(a="1"))
    assert files(mine) == {"thesis.docx": "years of work"}

    out = tmp_path / "run"
    write_atomically(out, writer(a="1"))
    (out / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match=r"did not write \(notes.txt\)"):
        prepare_output(out)
    empty = tmp_path / "empty"
    empty.mkdir()
    write_atomically(empty, writer(a="1"))  # an empty folder is fine
    assert files(empty) == {"a": "1"}


def test_a_folder_written_before_manifests_is_replaced(tmp_path: Path) -> None:
    legacy = tmp_path / "old-run"
    legacy.mkdir()
    (legacy / "run.json").write_text("{}")
    (legacy / "model_selection.csv").write_text("k")
    write_atomically(legacy, writer(**{"run.json": "{}"}))
    assert files(legacy) == {"run.json": "{}"}


def test_abandoned_temporary_folders_of_dead_processes_are_removed(tmp_path: Path) -> None:
    out = tmp_path / "run"
    write_atomically(out, writer(a="1"))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    abandoned = tmp_path / f".run.tmp-{dead.stdout.strip()}-0000"
    abandoned.mkdir()
    (abandoned / "segments.csv").write_text("half")
    live = tmp_path / f".run.tmp-{os.getppid()}-0000"  # a live process (pytest's parent) may still be writing
    live.mkdir()
    write_atomically(out, writer(a="2"))
    assert not abandoned.exists() and live.exists() and files(out) == {"a": "2"}


SIGTERMED = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from shopseg.export.run_folder import stop_on_sigterm, write_atomically

    def slow(folder):
        (folder / "segments.csv").write_text("new, half written")
        print("writing", flush=True)
        time.sleep(60)

    try:
        with stop_on_sigterm():
            write_atomically(Path(sys.argv[1]), slow)
    except KeyboardInterrupt:
        sys.exit(143)
    """
)


def test_sigterm_mid_write_leaves_the_earlier_run_whole_and_no_temporary_folder(tmp_path: Path) -> None:
    out = tmp_path / "run"
    write_atomically(out, writer(**{"segments.csv": "earlier"}))
    process = subprocess.Popen([sys.executable, "-c", SIGTERMED, str(out)], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "writing"
    assert any(name.startswith(".run.tmp-") for name in hidden(tmp_path))
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 143
    assert files(out) == {"segments.csv": "earlier"} and hidden(tmp_path) == []


def test_rerun_into_the_same_folder_leaves_nothing_of_the_earlier_run(tmp_path: Path) -> None:
    """Issue 17: a rerun kept the earlier run's recommendations and model_selection.csv, and serve mixed the runs."""
    from shopseg.generate import generate_shop, write_shop

    out = tmp_path / "run"
    orders = write_shop(generate_shop(150, seed=2), tmp_path / "shop")["orders"]
    run_segmentation(out, orders=orders, seed=1, min_segment_size=1, stability_refits=0, value=False, use_text=False)
    first = {p.name for p in out.iterdir()}
    assert {"model_selection.csv", "recommendations.parquet"} <= first  # automatic K and recommendations
    run_segmentation(out, orders=orders, k=2, seed=1, min_segment_size=1, recommender=None, value=False, use_text=False)
    second = {p.name for p in out.iterdir()}
    assert not {"model_selection.csv", "recommendations.parquet", "recommendations_eval.json"} & second
    assert json.loads((out / MANIFEST).read_text())["entries"] == sorted(second - {MANIFEST})
    assert pd.read_parquet(out / "segments.parquet")["segment_id"].nunique() == 2
    assert hidden(tmp_path) == []


def without_timings(document: object) -> object:
    """run.json without what differs between two runs of the same input: seconds and the folder's name."""
    if isinstance(document, dict):
        return {key: without_timings(value) for key, value in document.items() if "seconds" not in key and key != "out"}
    if isinstance(document, list):
        return [without_timings(value) for value in document]
    return document


@pytest.mark.slow
def test_same_input_and_seed_give_byte_identical_outputs(tmp_path: Path) -> None:
    """Issue 17: --no-text runs differed in the 12th decimal one time in six (sums in thread order)."""
    from shopseg.generate import generate_shop, write_shop

    paths = write_shop(generate_shop(300, seed=11), tmp_path / "shop")
    inputs = {name: paths[name] for name in ("orders", "products", "reviews", "events")}
    for name in ("a", "b"):
        run_segmentation(tmp_path / name, **inputs, seed=4, use_text=False, stability_refits=2)
    first, second = tmp_path / "a", tmp_path / "b"
    timed = ("run.json", "value.json", "recommendations_eval.json")  # compared below without their timings
    compared = 0
    for path in sorted(first.rglob("*")):
        relative = path.relative_to(first)
        if path.is_dir() or relative.name in (*timed, "report.html", "shopseg.duckdb"):
            continue  # report.html shows the timings; shopseg.duckdb is a database file
        assert path.read_bytes() == (second / relative).read_bytes(), relative
        compared += 1
    assert compared >= 10
    for name in timed:
        assert without_timings(json.loads((first / name).read_text())) == without_timings(
            json.loads((second / name).read_text())
        ), name
