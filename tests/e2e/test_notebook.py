"""The notebook executes, top to bottom, on the synthetic default."""

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "customer_segmentation.ipynb"


def test_committed_without_outputs() -> None:
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code and all(not c["outputs"] and c["execution_count"] is None for c in code)


def test_no_pipeline_logic_in_cells() -> None:
    source = "\n".join("".join(c["source"]) for c in json.loads(NOTEBOOK.read_text())["cells"])
    for forbidden in ("KMeans(", "groupby(", "log1p(", "silhouette_score", "duckdb"):
        assert forbidden not in source, forbidden
    # custseg is used only through its Python API (import custseg; custseg.segment, ...).
    imports = re.findall(r"^\s*(?:from\s+(custseg\S*)\s+import|import\s+(custseg\S*))", source,
                         flags=re.MULTILINE)  # fmt: skip
    assert [a or b for a, b in imports] == ["custseg"]


@pytest.mark.slow
def test_executes_on_the_synthetic_default(tmp_path: Path) -> None:
    shutil.copyfile(NOTEBOOK, tmp_path / NOTEBOOK.name)
    (tmp_path / "conf" / "base").mkdir(parents=True)
    (tmp_path / "conf" / "base" / "parameters.yml").write_text("synthetic_customers: 800\n")
    nb = nbformat.read(tmp_path / NOTEBOOK.name, as_version=4)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "synthetic default (800 customers, seed 0)" in text
    assert "800 customers re-assigned, all to the same persona" in text
    plots = [
        o
        for o in outputs
        if "application/vnd.plotly.v1+json" in o.get("data", {}) or "text/html" in o.get("data", {})
    ]
    assert len(plots) >= 7
