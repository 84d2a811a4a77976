"""``shopseg audience`` through the command line: sentences, --explain, --where, errors, the default install."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from shopseg.cli.app import run

Cli = Callable[..., tuple[int, str, str]]

#: Imports a default install (pip install -e ., no extras) cannot make: the web stack and the text model.
NOT_INSTALLED = (
    "fastapi",
    "uvicorn",
    "jinja2",
    "starlette",
    "onnxruntime",
    "tokenizers",
    "sentence_transformers",
    "torch",
)
DEFAULT_INSTALL = f"""
import sys
BLOCKED = set({NOT_INSTALLED!r})

class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"No module named {{name!r}}")

sys.meta_path.insert(0, NotInstalled())
from shopseg.cli.app import run
sys.argv = ["shopseg", *sys.argv[1:]]
try:
    run()
finally:
    print("blocked modules loaded:", sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED))
"""


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    """Run ``shopseg ARGS`` in-process; return (exit code, stdout, stderr)."""

    def invoke(*args: str | Path) -> tuple[int, str, str]:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["shopseg", *map(str, args)])
        monkeypatch.setenv("COLUMNS", "200")
        with pytest.raises(SystemExit) as exit_:
            run()
        captured = capsys.readouterr()
        assert "Traceback" not in captured.out + captured.err
        return exit_.value.code, captured.out, captured.err

    return invoke


def conditions_line(output: str) -> str:
    return re.search(r"^Conditions: (.*)$", output, re.MULTILINE).group(1)


@pytest.mark.slow
def test_explain_prints_editable_conditions_that_where_accepts_back(cli: Cli, text_run: Path, tmp_path: Path) -> None:
    sentence = "outdoor buyers who spent over 300 and ordered at least 4 times"
    code, out, err = cli("audience", sentence, "--run", text_run, "--explain")
    assert code == 0, err
    where = conditions_line(out)
    assert where == 'spend > 300 and orders >= 4 and topic = "outdoor"'
    assert f"--where '{where}'" in out and "Audience:" not in out  # explained, nothing built
    code, out, err = cli("audience", sentence, "--run", text_run, "--out", tmp_path / "from_text.csv")
    assert code == 0, err
    assert "topic matched by the run's text model" in out  # the method is said
    code, _, err = cli("audience", "--where", where, "--run", text_run, "--out", tmp_path / "from_where.csv")
    assert code == 0, err
    from_text = pd.read_csv(tmp_path / "from_text.csv", dtype={"customer_id": str})
    from_where = pd.read_csv(tmp_path / "from_where.csv", dtype={"customer_id": str})
    assert list(from_text["customer_id"]) == list(from_where["customer_id"]) and len(from_text) > 0
    assert (from_where["monetary_total"] > 300).all() and (from_where["frequency"] >= 4).all()
    assert from_where["topic_score"].is_monotonic_decreasing


@pytest.mark.slow
def test_where_overrides_the_sentence_bound_by_bound(cli: Cli, text_run: Path) -> None:
    code, out, err = cli(
        "audience", "kitchen fans who spent over 300", "--where", "spend > 800", "--run", text_run, "--explain"
    )
    assert code == 0, err
    assert conditions_line(out) == 'spend > 800 and topic = "kitchen"'
    assert "'spend > 300' read from the description was replaced by the explicit 'spend > 800'" in out


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--where", "spend >> 3"), "Cannot read the condition 'spend >> 3'"),
        (("clv over 500 and clv under 100",), "contradict each other"),
        (("in segment 99",), "Unknown segment id 99"),
        (("outdoor", "--item", "P1"), "not both"),
        (("--item", "P1", "--explain"), "--explain explains a sentence"),
    ],
)
def test_audience_mistakes_exit_2_with_a_message(cli: Cli, text_run: Path, args: tuple[str, ...], message: str) -> None:
    code, _, err = cli("audience", *args, "--run", text_run)
    assert code == 2
    assert message in err


def test_a_folder_that_is_not_a_run_exits_2(cli: Cli, tmp_path: Path) -> None:
    code, _, err = cli("audience", "outdoor buyers", "--run", tmp_path)
    assert code == 2 and "not a shopseg run folder" in err


@pytest.mark.slow
def test_works_on_the_default_install_without_the_web_stack_or_the_text_model(text_run: Path, tmp_path: Path) -> None:
    """The Quick-start install has no fastapi and no text model: the command still answers, by TF-IDF, and says so."""
    script = tmp_path / "default_install.py"
    script.write_text(DEFAULT_INSTALL)
    result = subprocess.run(
        [sys.executable, str(script), "audience", "outdoor buyers who spent over 300", "--run", str(text_run)],
        capture_output=True,
        text=True,
        timeout=300,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "blocked modules loaded: []" in result.stdout
    assert "topic matched by tf-idf" in result.stdout and "is not usable here" in result.stdout
    assert "Audience:" in result.stdout
