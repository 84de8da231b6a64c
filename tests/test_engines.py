"""The engines: DuckDB's settings, relations held by handle, memory given back."""

from __future__ import annotations

from pathlib import Path

from custseg.config import EngineConfig
from custseg.engines import MIN_MEMORY_LIMIT, DuckDBEngine, Relation, default_memory_limit


def test_default_memory_limit_grows_with_the_input() -> None:
    assert default_memory_limit() == f"{MIN_MEMORY_LIMIT}B"
    assert default_memory_limit(3 * MIN_MEMORY_LIMIT) == f"{3 * MIN_MEMORY_LIMIT}B"
    assert int(default_memory_limit(10**15)[:-1]) < 10**15  # at most 80% of the RAM


def test_relations_have_fresh_names_and_kept_tables_can_be_dropped(tmp_path: Path) -> None:
    assert Relation.new("facts").sql != Relation.new("facts").sql
    engine = DuckDBEngine(EngineConfig(temp_directory=str(tmp_path / "spill")))
    try:
        before = engine.rows("SELECT current_setting('memory_limit')")[0][0]
        table = engine.keep("SELECT range AS x FROM range(1000)", "numbers")
        assert engine.rows(f"SELECT sum(x) FROM {table}") == [(499500,)]
        engine.drop(table)
        names = [r[0] for r in engine.rows("SELECT table_name FROM duckdb_tables()")]
        assert table.sql not in names
        # Lowered to give the memory back, then restored.
        assert engine.rows("SELECT current_setting('memory_limit')")[0][0] == before
    finally:
        engine.close()
    assert (tmp_path / "spill").is_dir()
