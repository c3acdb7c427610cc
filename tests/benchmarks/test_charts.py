"""Charts: one figure per area, host and JAX peers both paired with our time."""

import pytest

from benchmarks import charts
from benchmarks.harness import Record


def _rec(case, contender, platform, seconds, n=4, correct=True):
    return Record(case, {"n": n}, contender, "cpu:0", platform, correct, 0.0, median_s=seconds)


RECORDS = [
    _rec("linalg.solve", "mlmath_jax", "cpu", 1.0),
    _rec("linalg.solve", "numpy", "host", 2.0),
    _rec("linalg.solve", "jnp.linalg.solve", "cpu", 0.5),
    _rec("ml.ridge", "mlmath_jax", "cpu", 4.0),
    _rec("ml.ridge", "sklearn Ridge", "host", 2.0),
    _rec("ml.ridge", "wrong peer", "host", 1.0, correct=False),
    _rec("prob.median", "numpy", "host", 3.0),  # no time of ours: no bar
]


def test_peer_ratios_pair_host_and_jax_peers_with_our_cpu_time():
    ratios = {(label.split(" ")[0], peer): r for label, peer, r in charts.peer_ratios(RECORDS)}
    assert ratios == {
        ("linalg.solve", "numpy"): 2.0,
        ("linalg.solve", "jnp.linalg.solve"): 0.5,
        ("ml.ridge", "sklearn Ridge"): 0.5,
    }


def test_one_figure_per_area(tmp_path):
    pytest.importorskip("matplotlib")
    paths = charts.write(RECORDS, "cpu", tmp_path / "cpu")
    assert sorted(p.name for p in paths) == ["cpu-linalg.png", "cpu-ml.png"]
    assert all(p.stat().st_size > 1000 for p in paths)
