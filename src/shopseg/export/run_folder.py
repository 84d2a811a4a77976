"""Write a run folder atomically: every output, or none of them.

Outputs are written into a hidden temporary folder beside ``out_dir`` (same file system)
and moved into place only when all of them are complete, so a failed run never leaves
half-written files (an earlier run's complete outputs stay as they were).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from shopseg.errors import OutputError


def prepare_output(out_dir: str | Path) -> Path:
    """Check that ``out_dir`` can be created and written, without creating it yet.

    Called before any work, so that a run fails early and leaves nothing behind (not
    even an empty folder); :func:`write_atomically` creates the folder at the end.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"Output folder {out_dir} is a file, not a folder. Choose another with --out.")
    anchor = out_dir
    while not anchor.exists() and anchor != anchor.parent:
        anchor = anchor.parent
    if not anchor.is_dir():
        raise OutputError(f"Output folder {out_dir} cannot be created: {anchor} is a file. Choose another with --out.")
    if not os.access(anchor, os.W_OK | os.X_OK):
        raise OutputError(
            f"Output folder {out_dir} cannot be written (no permission on {anchor}). Choose another with --out."
        )
    return out_dir


def _create(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out_dir, prefix=".shopseg-probe-"):
            pass
    except OSError as error:
        raise OutputError(
            f"Output folder {out_dir} cannot be written ({error.strerror or error}). Choose another with --out."
        ) from error


def write_atomically(out_dir: str | Path, write: Callable[[Path], None]) -> list[Path]:
    """Call ``write(tmp_dir)``, then move everything it wrote into ``out_dir``."""
    out_dir = prepare_output(out_dir)
    _create(out_dir)
    tmp_dir = Path(
        tempfile.mkdtemp(dir=out_dir.parent if out_dir.parent.exists() else out_dir, prefix=f".{out_dir.name}-tmp-")
    )
    try:
        write(tmp_dir)
        moved = []
        for item in sorted(tmp_dir.iterdir()):
            target = out_dir / item.name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            os.replace(item, target)
            moved.append(target)
        return moved
    except OSError as error:
        raise OutputError(f"Could not write outputs to {out_dir} ({error.strerror or error}).") from error
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
