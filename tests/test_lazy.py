"""Heavy imports start in the background and are never done twice."""

from __future__ import annotations

import subprocess
import sys


def test_preload_imports_in_a_thread() -> None:
    code = (
        "import sys; from custseg.lazy import preload; "
        "assert 'sklearn.cluster' not in sys.modules; "
        "t = preload('sklearn.cluster', 'no.such.module'); t.join(); "
        "print('sklearn.cluster' in sys.modules, t.daemon)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True"]
