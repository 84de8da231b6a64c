"""Input and output: reading order lines, mapping their columns, writing outputs atomically.

* :mod:`custseg.io.readers`: Excel (fastexcel), CSV and Parquet (DuckDB), the workbook cache.
* :mod:`custseg.io.columns`: which column holds each field; text date layouts.
* :mod:`custseg.io.writers`: atomic, formula-safe, byte-stable writes of every output.

The names below are re-exported so that ``from custseg.io import ...`` keeps working.
"""

from custseg.errors import first_line
from custseg.io.columns import (
    COLUMN_CANDIDATES,
    DATE_LAYOUTS,
    ColumnMapping,
    detect_date_format,
    resolve_columns,
    suggest_columns,
)
from custseg.io.readers import (
    InputFormat,
    LoadedOrders,
    check_workbook_container,
    detect_format,
    file_sha256,
    load_orders,
    read_columns,
)
from custseg.io.writers import (
    FORMULA_PREFIXES,
    atomic_write_bytes,
    atomic_write_text,
    csv_bytes,
    csv_safe,
    json_text,
    staged_folder,
    write_csv,
    write_json,
)
from custseg.sql import sql_ident, sql_literal

__all__ = [
    "COLUMN_CANDIDATES",
    "DATE_LAYOUTS",
    "FORMULA_PREFIXES",
    "ColumnMapping",
    "InputFormat",
    "LoadedOrders",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_workbook_container",
    "csv_bytes",
    "csv_safe",
    "detect_date_format",
    "detect_format",
    "file_sha256",
    "first_line",
    "json_text",
    "load_orders",
    "read_columns",
    "resolve_columns",
    "sql_ident",
    "sql_literal",
    "staged_folder",
    "suggest_columns",
    "write_csv",
    "write_json",
]
