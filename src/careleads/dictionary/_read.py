"""Reading CSV and Parquet files as they are, every CSV value as text, before the dictionary is applied."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from careleads.errors import InputError
from careleads.types import PathLikeStr

__all__ = ["SAMPLE_BYTES", "decode_sample", "read_table", "sniff_delimiter"]

SAMPLE_BYTES = 256 * 1024  # what is read to detect a CSV file's encoding and delimiter
_DELIMITERS = ",;\t|"


def decode_sample(file: Path, head: bytes) -> tuple[str, str]:
    """Return the encoding of a text file and its first bytes decoded; refuse binary content.

    Parameters
    ----------
    file : pathlib.Path
        The file, for error messages.
    head : bytes
        Its first :data:`SAMPLE_BYTES` bytes (or all of a shorter file).

    Returns
    -------
    (str, str)
        ``utf-16`` (byte-order mark), ``utf-8-sig`` or ``latin-1`` (any byte decodes), and the sample
        decoded with it (a character cut at the end of the sample is left out).

    Raises
    ------
    InputError
        If the bytes are a zip archive (an Excel workbook) or binary.
    """
    if head.startswith(b"PK\x03\x04"):
        raise InputError(
            f"{file}: this is a zip archive or an Excel workbook, not a CSV; save the sheet as CSV "
            "(comma, semicolon or tab separated) or Parquet"
        )
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16", head.decode("utf-16", errors="ignore")
    control = sum(
        head.count(bytes([code])) for code in (*range(0, 9), 11, 14, *range(16, 27), *range(28, 32))
    )
    if b"\x00" in head or control > max(1, len(head) // 100):
        raise InputError(
            f"{file}: the file is binary, not a text table; give a CSV (comma, semicolon or tab separated) "
            "or a Parquet file"
        )
    encoding = "utf-8-sig"
    try:
        text = head.decode(encoding)
    except UnicodeDecodeError as exc:
        truncated = len(head) == SAMPLE_BYTES and exc.start >= len(head) - 4
        if truncated:
            text = head[: exc.start].decode(encoding)
        else:
            # not UTF-8: Windows exports are the usual culprit; latin-1 reads every byte
            encoding = "latin-1"
            text = head.decode(encoding)
    return encoding, text


def sniff_delimiter(sample: str, *, truncated: bool) -> str:
    """Guess the delimiter of a CSV sample among comma, semicolon, tab and pipe; comma for a single column.

    Parameters
    ----------
    sample : str
        The first lines of the file, decoded.
    truncated : bool
        Whether the sample stops inside the file (its last line is then left out).

    Returns
    -------
    str
        The delimiter.
    """
    lines = sample.splitlines()
    if truncated and len(lines) > 1:
        lines = lines[:-1]
    lines = lines[:100]
    header = lines[0] if lines else ""
    widths = {delimiter: len(next(csv.reader([header], delimiter=delimiter))) for delimiter in _DELIMITERS}
    try:
        sniffed: str | None = csv.Sniffer().sniff("\n".join(lines), delimiters=_DELIMITERS).delimiter
    except csv.Error:
        sniffed = None
    widest = max(widths, key=lambda delimiter: widths[delimiter])
    if sniffed is not None and widths.get(sniffed, 0) > 1:
        return sniffed
    return widest if widths[widest] > 1 else ","


def _read_parquet(file: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(file)
    except Exception as exc:  # pyarrow raises several unrelated types for a damaged file
        raise InputError(f"{file}: not a readable Parquet file ({exc}); export it again") from exc


def read_table(path: PathLikeStr) -> pd.DataFrame:
    """Read a CSV or Parquet file as it is, without interpreting any value.

    CSV: delimiter (comma, semicolon, tab, pipe) and encoding (UTF-8, UTF-16, else Latin-1) are detected;
    every column is read as text and nothing is turned into a missing value, so placeholders such as
    ``"Select"`` or ``"N/A"`` stay visible. Blank lines are kept as rows so that row numbers match the
    spreadsheet. Parquet (by extension or content) keeps its stored types.

    Parameters
    ----------
    path : str or os.PathLike
        The file to read.

    Returns
    -------
    pandas.DataFrame
        The table; ``frame.attrs["source"]`` holds the file name.

    Raises
    ------
    InputError
        If the file is missing, empty, binary, an Excel workbook or not a well-formed CSV.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "leads.csv").write_text("lead_id;source\\nL1;Select\\n")
    >>> read_table(folder / "leads.csv").to_dict("records")
    [{'lead_id': 'L1', 'source': 'Select'}]
    """
    file = Path(path)
    if not file.exists():
        raise InputError(f"{file}: no such file; check the path")
    if file.is_dir():
        raise InputError(f"{file}: is a folder; give the path of a CSV or Parquet file")
    with file.open("rb") as handle:
        head = handle.read(SAMPLE_BYTES)
    if not head.strip():
        raise InputError(f"{file}: the file is empty; export the table again, with its header row")
    if head.startswith(b"PAR1") or file.suffix.lower() in {".parquet", ".pq"}:
        frame = _read_parquet(file)
    else:
        encoding, sample = decode_sample(file, head)
        delimiter = sniff_delimiter(sample, truncated=len(head) == SAMPLE_BYTES)
        try:
            frame = pd.read_csv(
                file,
                sep=delimiter,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                skip_blank_lines=False,
                encoding=encoding,
                engine="c",
            )
        except pd.errors.EmptyDataError as exc:
            raise InputError(f"{file}: the file has no header row; export the table again") from exc
        except pd.errors.ParserError as exc:
            raise InputError(
                f"{file}: not a well-formed CSV ({str(exc).strip()}); check that every row has as many "
                f"fields as the header and that quotes are closed"
            ) from exc
        except UnicodeDecodeError as exc:
            raise InputError(f"{file}: cannot decode the text ({exc}); save it as UTF-8") from exc
    frame.attrs["source"] = file.name
    return frame
