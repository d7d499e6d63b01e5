"""Data frames as plain text cells for the table partial (the template escapes every cell)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from pandas.api.types import is_bool_dtype, is_float_dtype, is_integer_dtype, is_numeric_dtype


@dataclass(frozen=True)
class TableView:
    columns: list[str]
    numeric: list[bool]  # right-aligned columns
    rows: list[list[str]]


def read_csv(path: str | Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not a readable CSV table ({err})") from None


def table_view(frame: pd.DataFrame, digits: int = 4) -> TableView:
    """Floats with `digits` significant digits, integers in full, missing values as a dash."""
    cells = []
    numeric = []
    for name in frame.columns:
        column = frame[name]
        is_number = is_numeric_dtype(column) and not is_bool_dtype(column)
        numeric.append(is_number)
        if is_float_dtype(column):
            cells.append([_float(v, digits) for v in column])
        elif is_integer_dtype(column):
            cells.append([str(int(v)) for v in column])
        else:
            cells.append([_float(v, digits) if isinstance(v, float) else str(v) for v in column])
    rows = [list(row) for row in zip(*cells, strict=True)] if cells else []
    return TableView([str(c) for c in frame.columns], numeric, rows)


def _float(value: float, digits: int) -> str:
    if pd.isna(value):
        return "—"
    if float(value).is_integer() and abs(value) < 10**digits:
        return str(int(value))
    return f"{value:.{digits}g}"
