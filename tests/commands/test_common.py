"""What commands share: audience files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from custseg.config import load_settings
from custseg.pipeline import segment, write_outputs


def test_audiences_partition_the_customers_and_are_formula_safe(tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    lines = ["InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice"]
    ids = ["=cmd", "b", "c", "d", "e", "f"]
    for i, (cid, price) in enumerate(zip(ids, [3, 90, 5, 400, 7, 11], strict=True)):
        lines.append(f"{i},{cid},2011-01-0{i + 1} 10:00,1,{price}")
        lines.append(f"{i}b,{cid},2011-02-0{i + 1} 10:00,{i + 1},{price}")
    path.write_text("\n".join(lines) + "\n")
    result = segment(path, load_settings(None, {"model": {"k": 2, "k_max": 2}}))
    write_outputs(result, tmp_path / "out")
    files = sorted((tmp_path / "out" / "audiences").glob("*.csv"))
    assert len(files) == result.customers["persona"].nunique()
    frames = [pd.read_csv(f, dtype={"customer_id": str}) for f in files]
    every = pd.concat(frames)
    assert sorted(every["customer_id"]) == sorted(["'=cmd", *ids[1:]])
    assert every["customer_id"].is_unique
    assert list(frames[0].columns) == [
        "customer_id", "persona", "rfm_segment", "recency_days", "frequency", "monetary",
    ]  # fmt: skip
    for frame, file in zip(frames, files, strict=True):
        assert frame["persona"].nunique() == 1
        assert file.name == frame["persona"].iloc[0].lower().replace(" ", "-") + ".csv"
