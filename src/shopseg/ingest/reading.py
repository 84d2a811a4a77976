"""Read a user file into a table of strings, keeping each row's line number.

Everything is read as text first so that validation can report the exact value that
failed, with its file, line and column. The exception is Parquet, whose columns carry their
types: numbers and timestamps (as naive UTC) stay typed (:func:`typed_column`; validation checks them
without a detour through text, which at millions of rows saves most of the reading time and
memory), every other column is read as text. Supported containers: delimited text (comma,
semicolon, tab, pipe or runs of whitespace, any of UTF-8/UTF-16/Latin-1/Windows-1252),
Parquet, and Excel workbooks (every sheet with the first sheet's header is read).

Rows with the wrong number of fields or a huge field are not dropped silently: they are
returned in :attr:`RawTable.rejected` for the quarantine.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from shopseg.errors import InputError

#: Name of the column that carries each row's line number in the source file.
LINE = "__line__"
#: Name of the column that carries the file (and sheet) each row came from.
SOURCE = "__source__"

#: A field longer than this is not data a shop exports; its row is quarantined.
MAX_FIELD_CHARS = 32_768

_DELIMITERS = [",", ";", "\t", "|"]
_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")
#: A character that only valid UTF-8 produces: not ASCII, not an undecodable byte (U+DC80..U+DCFF).
_UTF8_LETTER = re.compile("[^\x00-\x7f\udc80-\udcff]")
#: A byte that is not valid UTF-8, as ``errors="surrogateescape"`` decodes it.
_BAD_BYTE = re.compile("[\udc80-\udcff]")

csv.field_size_limit(sys.maxsize)


@dataclass
class RawTable:
    """A user table as strings, one row per data line.

    ``frame`` has the file's own column names plus :data:`LINE` and :data:`SOURCE`.
    ``rejected`` lists rows that could not be split into the header's columns.
    """

    path: Path
    frame: pd.DataFrame
    has_header: bool
    delimiter: str | None = None
    encoding: str | None = None
    rows_read: int = 0
    rejected: list[dict[str, object]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: Lines of a UTF-8 file with bytes that are not valid UTF-8 (each read as Windows-1252).
    legacy_lines: int = 0

    @property
    def columns(self) -> list[str]:
        """The file's own column names (without the bookkeeping columns)."""
        return [c for c in self.frame.columns if c not in (LINE, SOURCE)]


def read_table(path: str | Path) -> RawTable:
    """Read ``path`` (delimited text, Parquet or Excel) into a :class:`RawTable`."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found.", hint="Check the path.")
    if path.is_dir():
        raise InputError(path, "is a folder, not a file.", hint="Point to a CSV, Parquet or .xlsx file.")
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError as error:
        raise InputError(path, f"cannot be read ({error.strerror}).") from error
    if head.startswith(b"PAR1"):
        return _read_parquet(path)
    if head.startswith(b"PK\x03\x04"):
        return _read_excel(path)
    return _read_text(path)


def is_parquet(path: str | Path) -> bool:
    """A Parquet file, or a folder of ``.parquet`` part files (as Spark and DuckDB write them)."""
    path = Path(path)
    if path.is_dir():
        return any(path.glob("*.parquet"))
    try:
        with path.open("rb") as handle:
            return handle.read(4) == b"PAR1"
    except OSError:
        return False


def typed_column(values: pd.Series) -> pd.Series | None:
    """A Parquet column kept typed: numbers as they are, timestamps as naive UTC; None for text.

    Booleans, decimals, dates without a time and everything else are read as text, as from CSV
    (an integer id column stays an integer here and becomes text where validation reads ids).
    """
    if pd.api.types.is_bool_dtype(values.dtype):
        return None
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert(None)
    if pd.api.types.is_datetime64_dtype(values.dtype):
        return values  # its own unit: a year like 2999 does not fit nanoseconds until validation rejects it
    return None


def _read_parquet(path: Path) -> RawTable:
    try:
        frame = pd.read_parquet(path)
    except Exception as error:  # pyarrow raises many types for corrupt files
        raise InputError(path, f"is not a readable Parquet file ({error}).") from error
    if frame.empty:
        raise InputError(path, "has no data rows.")
    columns = {}
    for column in frame.columns:
        typed = typed_column(frame[column])
        columns[str(column).strip()] = (
            typed if typed is not None else frame[column].astype("string").fillna("").astype(object)
        )
    frame = pd.DataFrame(columns)
    if LINE in frame and SOURCE in frame:  # a chunk written by shopseg: rows keep their own file and line
        frame = frame.sort_values(LINE, kind="stable").reset_index(drop=True)
        frame[LINE] = frame[LINE].astype("int64")
    else:
        frame[LINE] = range(1, len(frame) + 1)
        frame[SOURCE] = str(path)
    return RawTable(path=path, frame=frame, has_header=True, rows_read=len(frame))


def _read_excel(path: Path) -> RawTable:
    try:
        sheets = pd.read_excel(path, sheet_name=None, dtype=str, keep_default_na=False)
    except Exception as error:  # openpyxl/zipfile raise many types for corrupt files
        raise InputError(
            path, f"is not a readable Excel workbook ({error}).", hint="Save it as .xlsx or CSV."
        ) from error
    parts: list[pd.DataFrame] = []
    notes: list[str] = []
    header: list[str] | None = None
    for sheet, frame in sheets.items():
        columns = [str(c).strip() for c in frame.columns]
        if header is None:
            header = columns
        elif columns != header:
            notes.append(f"sheet '{sheet}' skipped: its columns differ from the first sheet's")
            continue
        frame = frame.copy()
        frame.columns = columns
        frame[LINE] = range(2, len(frame) + 2)  # row 1 is the header in the sheet
        frame[SOURCE] = f"{path}[{sheet}]"
        blank = (frame[columns].astype(str).apply(lambda column: column.str.strip()) == "").all(axis=1)
        parts.append(frame.loc[~blank])  # empty spreadsheet rows are skipped, like blank lines in text
    if not parts or sum(len(p) for p in parts) == 0:
        raise InputError(path, "has no data rows in any sheet.")
    frame = pd.concat(parts, ignore_index=True)
    return RawTable(path=path, frame=frame, has_header=True, rows_read=len(frame), notes=notes)


def _decode(path: Path, data: bytes) -> tuple[str, str, list[int]]:
    """Decode bytes as UTF-16 (with BOM), UTF-8, Windows-1252 or Latin-1; see :func:`_read_text`.

    Returns the text, the encoding, and the numbers of the lines of a UTF-8 file that hold
    bytes that are not valid UTF-8 (each read as Windows-1252 instead).
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16", []
        except UnicodeDecodeError as error:
            raise InputError(path, "looks like UTF-16 but cannot be decoded.") from error
    if b"\x00" in data[:65536]:
        raise InputError(
            path,
            "is not a text table (it contains binary data).",
            hint="Give a CSV, TSV, Parquet or .xlsx file.",
        )
    try:
        return data.decode("utf-8-sig"), "utf-8-sig", []
    except UnicodeDecodeError:
        pass
    # Invalid bytes become lone surrogates (U+DC80..U+DCFF), so they can be found without a Python loop.
    text = data.removeprefix(b"\xef\xbb\xbf").decode("utf-8", errors="surrogateescape")
    if not _UTF8_LETTER.search(text):  # no UTF-8 letter anywhere: Windows-1252 / Latin-1 throughout
        for encoding in ("cp1252", "latin-1"):
            try:
                return data.decode(encoding), encoding, []
            except UnicodeDecodeError:  # bytes cp1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D)
                continue
    # A UTF-8 file with a few bytes in another encoding (a pasted Latin-1 "ñ"): each such byte is
    # read as Windows-1252; every other letter keeps its UTF-8 reading. The lines are counted.
    numbers: list[int] = []
    line_number, previous = 1, 0
    for bad in _BAD_BYTE.finditer(text):
        line_number += text.count("\n", previous, bad.start())
        previous = bad.start()
        if not numbers or numbers[-1] != line_number:
            numbers.append(line_number)
    return _BAD_BYTE.sub(lambda bad: _legacy(bytes([ord(bad.group()) - 0xDC00])), text), "utf-8", numbers


def _legacy(byte: bytes) -> str:
    """A byte in the usual 8-bit encoding of spreadsheets: Windows-1252, else Latin-1 (which reads any byte)."""
    try:
        return byte.decode("cp1252")
    except UnicodeDecodeError:  # bytes cp1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D)
        return byte.decode("latin-1")


def _sniff_delimiter(lines: list[str]) -> str | None:
    """The delimiter that splits the sample lines into the same number (> 1) of fields.

    Returns None for whitespace-separated files (such as CDNOW's) and for one-column files.
    """
    best: tuple[int, str] | None = None
    for delimiter in _DELIMITERS:
        counts = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        if not counts or counts[0] < 2:
            continue
        agreeing = sum(c == counts[0] for c in counts)
        if agreeing >= 0.8 * len(counts) and (best is None or agreeing * counts[0] > best[0]):
            best = (agreeing * counts[0], delimiter)
    return best[1] if best else None


def _looks_like_header(fields: list[str]) -> bool:
    """A first row is a header unless every field in it is a number (as in CDNOW_sample.txt)."""
    return not all(_NUMBER.match(f) for f in fields if f.strip())


def _read_text(path: Path) -> RawTable:
    data = path.read_bytes()
    if not data.strip():
        raise InputError(path, "is empty.", hint="Export the table again with its rows.")
    text, encoding, legacy_lines = _decode(path, data)
    if not text.strip(" \t\r\n\ufeff"):
        raise InputError(path, "is empty.", hint="Export the table again with its rows.")
    table = _split_text(path, text, encoding)
    if legacy_lines:
        table.notes.append(
            f"{len(legacy_lines):,} line(s) hold bytes that are not valid UTF-8, read as Windows-1252 "
            f"(first: line {legacy_lines[0]}); check their accented letters"
        )
        table.legacy_lines = len(legacy_lines)
    return table


def _split_text(path: Path, text: str, encoding: str) -> RawTable:
    """Rows of a decoded text file: the fast reader for regular files, else row by row."""
    sample = [line for line in text.splitlines()[:50] if line.strip()]
    delimiter = _sniff_delimiter(sample)
    if delimiter is not None:
        fast = _read_regular(path, text, delimiter, encoding)
        if fast is not None:
            return fast
    if delimiter is None and sample and len(sample[0].split()) > 1:
        rows = _split_whitespace(text)
    else:
        rows = _split_delimited(path, text, delimiter or ",")
    if not rows:
        raise InputError(path, "is empty.")
    _, first = rows[0]
    has_header = _looks_like_header(first)
    if has_header:
        header = _clean_header(first)
        body = rows[1:]
    else:
        header = [f"column_{i + 1}" for i in range(len(first))]
        body = rows
    if not body:
        raise InputError(path, "has a header but no data rows.", hint="Export the table again with its rows.")

    good: list[list[str]] = []
    lines: list[int] = []
    rejected: list[dict[str, object]] = []
    width = len(header)
    for line, fields in body:
        if len(fields) != width:
            if any("\n" in f for f in fields):
                raise InputError(
                    path,
                    "a quoted field opened here is never closed, so the lines after it cannot be read.",
                    line=line,
                    hint='Fix the quote (a value with a " must be written as "" inside quotes).',
                )
            rejected.append(
                _reject(path, line, None, delimiter or " ", fields, f"expected {width} fields, found {len(fields)}")
            )
            continue
        too_long = next((i for i, f in enumerate(fields) if len(f) > MAX_FIELD_CHARS), None)
        if too_long is not None:
            rejected.append(
                _reject(
                    path,
                    line,
                    header[too_long],
                    delimiter or " ",
                    fields,
                    f"field longer than {MAX_FIELD_CHARS:,} characters",
                )
            )
            continue
        good.append(fields)
        lines.append(line)
    frame = pd.DataFrame(good, columns=header, dtype=object) if good else pd.DataFrame(columns=header, dtype=object)
    frame[LINE] = lines
    frame[SOURCE] = str(path)
    return RawTable(
        path=path,
        frame=frame,
        has_header=has_header,
        delimiter=delimiter,
        encoding=encoding,
        rows_read=len(body),
        rejected=rejected,
    )


def _read_regular(path: Path, text: str, delimiter: str, encoding: str) -> RawTable | None:
    """Fast path for well-formed files: pandas' C parser, exact line numbers.

    Taken only when every non-blank line is one row with the header's number of fields
    and no field spans lines or exceeds :data:`MAX_FIELD_CHARS`; otherwise returns None
    and the row-by-row reader (which quarantines bad rows with their line) takes over.
    """
    physical = io.StringIO(text, newline="").readlines()  # the same line breaks as the row-by-row reader
    numbers = [number for number, line in enumerate(physical, start=1) if line.strip()]
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            header=None,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=True,
            engine="c",
        )
    except (pd.errors.ParserError, ValueError):
        return None
    if len(frame) != len(numbers) or len(frame) < 2:
        return None
    frame = frame.astype(object)
    if frame.isna().any().any() or (('"' in text) and _has_line_break(frame)):  # unquoted fields cannot hold one
        return None
    if len(text) > MAX_FIELD_CHARS and _longest_field(frame) > MAX_FIELD_CHARS:
        return None
    first = [str(v) for v in frame.iloc[0]]
    has_header = _looks_like_header(first)
    if has_header:
        frame = frame.iloc[1:].reset_index(drop=True)
        frame.columns = _clean_header(first)
        numbers = numbers[1:]
    else:
        frame.columns = [f"column_{i + 1}" for i in range(frame.shape[1])]
    frame[LINE] = numbers
    frame[SOURCE] = str(path)
    return RawTable(
        path=path, frame=frame, has_header=has_header, delimiter=delimiter, encoding=encoding, rows_read=len(frame)
    )


def _arrow_columns(frame: pd.DataFrame) -> Iterator[pa.Array]:
    """Each column of a frame of strings as an Arrow string array (for vectorised checks)."""
    for column in frame.columns:
        yield pa.array(frame[column].to_numpy(dtype=object), type=pa.string())


def _has_line_break(frame: pd.DataFrame) -> bool:
    """Whether any field holds a line break (Arrow's vectorised search, not a Python loop)."""
    return any(pc.any(pc.match_substring_regex(values, "[\r\n]")).as_py() for values in _arrow_columns(frame))


def _longest_field(frame: pd.DataFrame) -> int:
    """Characters in the longest field."""
    return max((pc.max(pc.utf8_length(values)).as_py() or 0 for values in _arrow_columns(frame)), default=0)


def _reject(
    path: Path, line: int, column: str | None, delimiter: str, fields: list[str], reason: str
) -> dict[str, object]:
    value = delimiter.join(fields)
    return {"file": str(path), "line": line, "column": column, "value": value[:200], "reason": reason}


def _clean_header(fields: list[str]) -> list[str]:
    """Strip names, name blank columns, and make repeated names unique (``name``, ``name_2``)."""
    seen: dict[str, int] = {}
    header = []
    for index, name in enumerate(fields):
        name = name.strip().lstrip("\ufeff") or f"column_{index + 1}"
        count = seen.get(name, 0) + 1
        seen[name] = count
        header.append(name if count == 1 else f"{name}_{count}")
    return header


def _split_whitespace(text: str) -> list[tuple[int, list[str]]]:
    """Rows of a whitespace-separated file as (line number, fields); blank lines skipped."""
    return [(number, line.split()) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]


def _split_delimited(path: Path, text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """Rows of a delimited file as (line number where the row starts, fields).

    Quotes are parsed strictly, so that a quote opened and never closed cannot silently
    swallow the lines after it into one field: when a row that cannot be parsed spans
    several lines, reading stops with an error naming the line where it starts. A
    malformed quote within a single line (``"12"x``) is read leniently, as spreadsheets do.
    """
    lines = io.StringIO(text, newline="").readlines()
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    rows: list[tuple[int, list[str]]] = []
    start = 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            if reader.line_num > start:
                raise InputError(
                    path,
                    "a quoted field opened here is never closed, so the lines after it cannot be read.",
                    line=start,
                    hint='Fix the quote (a value with a " must be written as "" inside quotes).',
                ) from error
            try:
                fields = next(csv.reader([lines[start - 1].rstrip("\r\n")], delimiter=delimiter))
            except csv.Error as lenient_error:
                raise InputError(
                    path,
                    f"cannot be split into fields ({lenient_error}).",
                    line=start,
                    hint='Check the quoting near this line (a " inside a quoted value must be doubled).',
                ) from lenient_error
        if any(f.strip() for f in fields):
            rows.append((start, fields))
        start = reader.line_num + 1
    return rows
