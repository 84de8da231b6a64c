"""custseg.pipeline keeps the names it used to hold; the names that are gone say where to go."""

from __future__ import annotations

import pytest


def test_old_imports_keep_working() -> None:
    from custseg.commands.run import segment as new_segment
    from custseg.pipeline import (
        OUTPUT_FILES,
        lifetime_value,
        load_model_file,
        migrate,
        resolve_input,
        score,
        segment,
        write_outputs,
    )

    assert segment is new_segment
    assert "customers.csv" in OUTPUT_FILES
    assert all(callable(f) for f in (lifetime_value, load_model_file, migrate, resolve_input))
    assert callable(score) and callable(write_outputs)


@pytest.mark.parametrize(
    ("name", "replacement"),
    [
        ("stage_orders", "custseg.session.Session"),
        ("holdout_check", "custseg.holdout.holdout_check"),
    ],
)
def test_a_name_that_is_gone_says_where_to_go(name: str, replacement: str) -> None:
    import custseg.pipeline

    with pytest.raises(ImportError, match=f"custseg.pipeline.{name} is gone; use {replacement}"):
        getattr(custseg.pipeline, name)
    with pytest.raises(AttributeError):
        custseg.pipeline.no_such_name  # noqa: B018
