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


def test_a_deferred_package_runs_when_first_used_and_then_is_the_real_one() -> None:
    code = """
import sys
from custseg.lazy import defer
facts = [defer("scipy.stats"), defer("scipy.stats"), defer("no.such.package")]
import sklearn.cluster, sklearn.metrics
facts.append("scipy.stats._stats_py" in sys.modules)
from scipy.stats import rankdata
facts.append(rankdata([30, 10, 20]).tolist())
import scipy.stats
facts.append(type(scipy.stats).__name__)
facts.append(sys.modules["scipy.stats"] is scipy.stats)
facts.append(float(scipy.stats.norm.cdf(0.0)))
from sklearn.metrics import roc_auc_score
facts.append(float(roc_auc_score([0, 1, 1, 0], [0.1, 0.8, 0.4, 0.3])))
print(facts)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # Bound before it is run: the first call of rankdata runs the real package.
    want = "[True, False, False, False, [3.0, 1.0, 2.0], 'module', True, 0.5, 1.0]"
    assert out.stdout.strip() == want


def test_a_package_with_its_init_skipped_gives_direct_names_then_runs_for_others() -> None:
    code = """
import sys
from custseg.lazy import skip_init
facts = [skip_init("sklearn.cluster", {"KMeans": "sklearn.cluster._kmeans"})]
facts.append(skip_init("sklearn.cluster", {}))
facts.append(skip_init("no.such.package", {}))
from sklearn.cluster import KMeans
import sklearn.cluster._kmeans as kmeans
facts.append(KMeans is kmeans.KMeans)
facts.append("sklearn.cluster._dbscan" in sys.modules)
facts.append(type(sys.modules["sklearn.cluster"]).__name__)
from sklearn.cluster import DBSCAN
facts.append(DBSCAN.__module__)
import sklearn.cluster
facts.append(type(sklearn.cluster).__name__)
facts.append(sklearn.cluster.KMeans is KMeans)
labels = KMeans(2, n_init=1, random_state=0).fit([[0.0], [0.1], [5.0]]).labels_.tolist()
facts.append(labels[0] == labels[1] != labels[2])
print(facts)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    want = (
        "[True, False, False, True, False, '_Deferred', 'sklearn.cluster._dbscan', 'module', "
        "True, True]"
    )
    assert out.stdout.strip() == want
