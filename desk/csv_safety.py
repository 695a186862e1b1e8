"""Text that leaves the service in files: cells no spreadsheet runs, safe file names."""

from __future__ import annotations

import re
import unicodedata

# A spreadsheet runs a cell as a formula when it starts with one of = + - @ (after spaces), or
# with a tab or line break (OWASP "CSV injection"); some East Asian Excel locales also take the
# full-width forms. One pattern, used by Python here and by PostgreSQL's regex engine in
# desk.report_copy, so that both databases neutralise exactly the same cells. It holds the
# control characters themselves, not escapes, so both engines read it the same way.
FORMULA_PATTERN = "^([\t\r\n]|[ \t\r\n\f\v]*[=+@\uff1d\uff0b\uff0d\uff20-])"
_FORMULA = re.compile(FORMULA_PATTERN)


def neutralise(cell: str) -> str:
    """The cell as text a spreadsheet shows and never evaluates: risky cells get a leading '."""
    return "'" + cell if _FORMULA.match(cell) else cell


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
