"""CSV exports opened in spreadsheets: text that a spreadsheet would run as a formula is not."""

from __future__ import annotations

from typing import Any

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A cell value: None as empty; text starting like a formula (=, +, -, @) quoted with a '."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in _FORMULA_STARTS:
        return "'" + value
    return value
