"""Write an output folder atomically, as a whole: the new run's files, or the old run's, never a mix.

A run is written into a hidden temporary folder beside ``out_dir`` (same file system). When
every file is complete, that folder *becomes* ``out_dir`` in one step:

* ``out_dir`` absent or empty: one ``rename``;
* ``out_dir`` holds an earlier run: the two folders are swapped with one
  ``renameat2(RENAME_EXCHANGE)`` call (Linux), and the earlier run, now at the temporary
  name, is deleted. Where the kernel or file system cannot swap, the earlier run is renamed
  away first and the new one renamed in (a moment without ``out_dir``, never a mix).

So a rerun leaves no file of the earlier run behind (an earlier run's recommendations beside
this run's segments, say), a reader never sees half of each, and an interrupted run
(Ctrl-C, SIGTERM: see :func:`stop_on_sigterm`) leaves the earlier run whole and no temporary
folder. A temporary folder left by a killed process (SIGKILL, power loss) is removed by the
next write beside it once its process is gone.

Only a folder shopseg wrote is ever replaced: each output folder carries a manifest
(:data:`MANIFEST`) listing what it wrote, and a folder with anything else in it -- a user's
notes, another program's files -- is refused with an :class:`~shopseg.errors.OutputError`
instead of deleted.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import secrets
import shutil
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from shopseg import __version__
from shopseg.errors import OutputError

#: The manifest an output folder carries: what shopseg wrote there (JSON).
MANIFEST = ".shopseg-output.json"
#: Output folders written before manifests existed are recognised by one of these files.
_LEGACY_MARKERS = ("run.json", "value.json")
_TMP, _OLD = "tmp", "old"


def prepare_output(out_dir: str | Path) -> Path:
    """Check that ``out_dir`` can be created (or replaced) and written, without creating it yet.

    Called before any work, so that a run fails early and leaves nothing behind (not even
    an empty folder); :func:`write_atomically` creates the folder at the end. Returns the
    folder's path (a symbolic link resolved: the folder it points to is the one replaced).
    """
    out_dir = check_writable(out_dir)
    if out_dir.is_dir():
        _check_replaceable(out_dir)
    return out_dir


def check_writable(out_dir: str | Path) -> Path:
    """Check that files can be written into ``out_dir`` (created if missing), without creating it yet.

    For writers that add files to a folder rather than replace it (``shopseg generate``).
    """
    out_dir = Path(out_dir)
    if out_dir.is_symlink():
        out_dir = out_dir.resolve()
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


def _check_replaceable(out_dir: Path) -> None:
    """Refuse a non-empty folder that holds anything shopseg did not write there."""
    entries = sorted(entry.name for entry in out_dir.iterdir())
    if not entries:
        return
    written = _written_by_shopseg(out_dir)
    if written is None:
        shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
        raise OutputError(
            f"Output folder {out_dir} is not empty and was not written by shopseg (it holds {shown}); a run "
            "replaces its whole output folder. Choose a new or empty folder with --out."
        )
    foreign = [name for name in entries if name not in written and name != MANIFEST]
    if foreign:
        raise OutputError(
            f"Output folder {out_dir} holds files the earlier run did not write ({', '.join(foreign[:5])}); a run "
            "replaces its whole output folder. Move them out, or choose another folder with --out."
        )


def _written_by_shopseg(out_dir: Path) -> set[str] | None:
    """What the earlier shopseg run wrote into ``out_dir``; None when shopseg did not write it."""
    manifest = out_dir / MANIFEST
    if manifest.is_file():
        try:
            return set(json.loads(manifest.read_text())["entries"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
    if any((out_dir / marker).is_file() for marker in _LEGACY_MARKERS):  # written before manifests existed
        return {entry.name for entry in out_dir.iterdir()}
    return None


def write_atomically(out_dir: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_dir)``, then make ``tmp_dir`` the new ``out_dir`` in one step (module docstring)."""
    out_dir = prepare_output(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned(out_dir)
    tmp_dir = _sibling(out_dir, _TMP)
    try:
        tmp_dir.mkdir()
        write(tmp_dir)
        entries = sorted(entry.name for entry in tmp_dir.iterdir())
        (tmp_dir / MANIFEST).write_text(json.dumps({"written_by": f"shopseg {__version__}", "entries": entries}))
        _switch(tmp_dir, out_dir)
        return out_dir
    except OSError as error:
        raise OutputError(f"Could not write outputs to {out_dir} ({error.strerror or error}).") from error
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)  # the new run if the switch failed, else the old run


def _sibling(out_dir: Path, kind: str) -> Path:
    """A hidden name beside ``out_dir`` that says which process made it (for :func:`_remove_abandoned`)."""
    return out_dir.parent / f".{out_dir.name}.{kind}-{os.getpid()}-{secrets.token_hex(4)}"


def _switch(new: Path, out_dir: Path) -> None:
    """Make ``new`` the folder at ``out_dir``; the earlier folder, if any, ends up at ``new``'s name."""
    if not out_dir.exists():
        os.rename(new, out_dir)
        return
    if _exchange(new, out_dir):
        return
    if not any(out_dir.iterdir()):  # an empty folder: no earlier run to keep until the switch
        out_dir.rmdir()
        os.rename(new, out_dir)
        return
    old = _sibling(out_dir, _OLD)
    os.rename(out_dir, old)
    try:
        os.rename(new, out_dir)
    except BaseException:  # an error, or Ctrl-C / SIGTERM between the two renames
        os.rename(old, out_dir)  # put the earlier run back
        raise
    os.rename(old, new)  # the caller deletes what is at ``new``


def _exchange(first: Path, second: Path) -> bool:
    """Swap two folders in one system call (Linux ``renameat2``); False where that is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # a C library without renameat2 (glibc < 2.28, musl)
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):  # the file system cannot swap
        return False
    raise OSError(code, os.strerror(code), str(second))


def _remove_abandoned(out_dir: Path) -> None:
    """Remove temporary folders beside ``out_dir`` whose process is gone (killed mid-write).

    An abandoned ``old`` folder is an earlier run moved away for the switch: when ``out_dir``
    is missing it goes back in place, otherwise it is obsolete.
    """
    for path in sorted(_abandoned(out_dir)):
        if path.name.startswith(f".{out_dir.name}.{_OLD}-") and not out_dir.exists():
            os.rename(path, out_dir)
        else:
            shutil.rmtree(path, ignore_errors=True)


def _abandoned(out_dir: Path) -> Iterator[Path]:
    for kind in (_TMP, _OLD):
        for path in out_dir.parent.glob(f".{out_dir.name}.{kind}-*"):
            pid = path.name.removeprefix(f".{out_dir.name}.{kind}-").split("-")[0]
            if path.is_dir() and pid.isdigit() and not _alive(int(pid)):
                yield path


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


@contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """Within the block, SIGTERM stops the program like Ctrl-C does: cleanly, ``finally`` blocks run.

    Python's default for SIGTERM ends the process at once, which would leave a half-written
    temporary folder; raising :class:`Terminated` (a :class:`KeyboardInterrupt`) instead lets :func:`write_atomically`
    remove it (the earlier run stays whole). Only in the main thread (where signals arrive).
    """
    try:
        previous = signal.signal(signal.SIGTERM, _interrupt)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class Terminated(KeyboardInterrupt):
    """SIGTERM received (see :func:`stop_on_sigterm`); the CLI exits with 143, as a terminated process does."""


def _interrupt(signum: int, frame: object) -> None:
    raise Terminated(f"signal {signum}")
