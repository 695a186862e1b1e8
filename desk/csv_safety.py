"""Text that leaves the service in files: cells no spreadsheet runs, file names no client misreads."""

from __future__ import annotations

import re
import unicodedata

# A spreadsheet treats a cell starting with one of these as a formula (OWASP "CSV injection");
# the full-width forms are read as formulas by some East Asian Excel locales.
_FORMULA_STARTS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")


def neutralise(cell: str) -> str:
    """The cell as text a spreadsheet shows and never evaluates: risky cells get a leading '."""
    if not cell:
        return cell
    first = cell[0]
    if first in _FORMULA_STARTS:
        return "'" + cell
    if first.isspace():
        stripped = cell.lstrip()
        if stripped and stripped[0] in _FORMULA_STARTS:
            return "'" + cell
    return cell


_UNSAFE_ASCII = re.compile(r"[^A-Za-z0-9._ -]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_RESERVED = re.compile(r'[<>:"/\\|?*]')  # not allowed in file names on Windows (or anywhere: /)
MAX_FILE_STEM = 80


def download_file_names(name: str, fallback: str = "report") -> tuple[str, str]:
    """(ASCII file name, UTF-8 file name) for Content-Disposition, both ending in .csv.

    Neither holds a path separator, a quote, a control character or a leading dot.
    """
    readable = _CONTROL.sub("", unicodedata.normalize("NFC", name))
    readable = _RESERVED.sub("_", readable)
    readable = readable.strip().strip(".").strip()[:MAX_FILE_STEM] or fallback
    ascii_only = unicodedata.normalize("NFKD", readable).encode("ascii", "ignore").decode()
    ascii_only = _UNSAFE_ASCII.sub("_", ascii_only)
    ascii_only = re.sub(r"_+", "_", ascii_only).strip(" ._") or fallback
    return f"{ascii_only}.csv", f"{readable}.csv"

