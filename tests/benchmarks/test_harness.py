"""The benchmark harness on tiny cases: records, the correctness gate, limit arithmetic."""

import dataclasses
import json
from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from benchmarks import limits, report
from benchmarks.harness import Case, Contender, relative_error, run_case


def _tiny_case(**overrides):
    fields = dict(
        name="test.add",
        params={"n": 4},
        setup=lambda rng: (rng.standard_normal(4).astype(np.float32),),
        contenders=[
            Contender("mlmath_jax", lambda x: x + 1.0),
            Contender("numpy", lambda x: x + 1.0, "host"),
        ],
        flops=4.0,
    )
    fields.update(overrides)
    return Case(**fields)


def test_records_have_separate_compile_time_and_sorted_spread():
    records = run_case(_tiny_case(), jax.devices("cpu")[:1], repeat=5)
    assert [r.contender for r in records] == ["mlmath_jax", "numpy"]
    ours, peer = records
    assert ours.correct and peer.correct
    assert ours.compile_s is not None and ours.compile_s > 0 and ours.first_s is not None
    assert peer.compile_s is None and peer.platform == "host"
    for r in records:
        assert r.repeats == 5
        assert 0 < r.min_s <= r.median_s <= r.max_s
        assert r.flops_per_s == pytest.approx(4.0 / r.median_s)
    assert ours.platform == "cpu" and ours.fraction_of_limit is None  # CPUs are not rated


def test_wrong_answer_is_reported_and_not_timed():
    case = _tiny_case(
        contenders=[
            Contender("mlmath_jax", lambda x: x + 1.5),
            Contender("numpy", lambda x: x + 1.0, "host"),
        ],
        reference=lambda x: x.astype(np.float64) + 1.0,
    )
    ours, peer = run_case(case, jax.devices("cpu")[:1], repeat=3)
    assert not ours.correct and ours.median_s is None and ours.repeats == 0
    assert ours.error > case.tol
    assert peer.correct and peer.median_s is not None
    md = report.markdown(
        [ours, peer],
        {"title": "cpu", "date": "d", "jax": "v", "devices": ["cpu"], "host": "h", "quick": True},
    )
    assert "**WRONG**" in md


def test_first_host_answer_is_the_reference_when_none_given():
    case = _tiny_case(
        contenders=[
            Contender("numpy", lambda x: x * 2.0, "host"),
            Contender("mlmath_jax", lambda x: x * 3.0),
        ]
    )
    peer, ours = run_case(case, jax.devices("cpu")[:1], repeat=2)
    assert peer.correct and peer.error == 0.0
    assert not ours.correct


def test_relative_error():
    assert relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert relative_error(np.array([1.0, 2.1]), np.array([1.0, 2.0])) == pytest.approx(0.05)
    assert relative_error(np.array([np.nan]), np.array([1.0])) == float("inf")
    assert relative_error(np.ones(2), np.ones(3)) == float("inf")
    assert relative_error((jnp.ones(2), jnp.zeros(1)), (np.ones(2), np.zeros(1))) == 0.0


def test_limit_arithmetic():
    h100 = SimpleNamespace(platform="gpu", device_kind="NVIDIA H100 80GB HBM3")
    frac, what = limits.fraction_of_limit(h100, 495e12 / 2, None, "tf32")
    assert frac == pytest.approx(0.5) and "tf32" in what
    frac, what = limits.fraction_of_limit(h100, None, 3.35e12 / 4, "fp32")
    assert frac == pytest.approx(0.25) and "bandwidth" in what
    h200 = SimpleNamespace(platform="gpu", device_kind="NVIDIA H200")
    assert limits.fraction_of_limit(h200, None, 4.8e12, "fp32")[0] == pytest.approx(1.0)
    t4 = SimpleNamespace(platform="gpu", device_kind="Tesla T4")
    # T4 has no TF32: the FLOP figure cannot be rated, the byte figure can.
    assert limits.fraction_of_limit(t4, 1e12, None, "tf32") == (None, None)
    unknown = SimpleNamespace(platform="gpu", device_kind="Some Future GPU")
    assert limits.fraction_of_limit(unknown, 1e12, None, "fp32") == (None, "unknown")
    cpu = SimpleNamespace(platform="cpu", device_kind="cpu")
    assert limits.fraction_of_limit(cpu, 1e12, 1e9, "fp32") == (None, None)


def test_write_json_and_markdown(tmp_path):
    records = run_case(_tiny_case(), jax.devices("cpu")[:1], repeat=2)
    meta = {
        "title": "NVIDIA H100 80GB HBM3",
        "date": "2026-01-01",
        "jax": jax.__version__,
        "devices": ["cpu: cpu"],
        "host": "x86_64",
        "quick": True,
    }
    paths = report.write(records, meta, tmp_path)
    assert paths["json"].name == "nvidia-h100-80gb-hbm3-quick.json"  # quick never replaces full
    data = json.loads(paths["json"].read_text())
    assert data["meta"]["quick"] is True
    assert {r["contender"] for r in data["records"]} == {"mlmath_jax", "numpy"}
    md = paths["md"].read_text()
    assert "| test.add | n=4 | numpy | host cpu |" in md
    assert md.count("\n|") >= 4


def test_cli_runs_a_quick_case(tmp_path, capsys):
    from benchmarks.__main__ import main

    assert (
        main(["--quick", "--case", "linalg.matmul_tf32", "--repeat", "2", "--out", str(tmp_path)])
        == 0
    )
    out = capsys.readouterr().out
    assert "linalg.matmul_tf32" in out and (tmp_path / "cpu-quick.json").exists()
    with pytest.raises(SystemExit):
        main(["--case", "no-such-case", "--out", str(tmp_path)])


def test_headline_table_rewrites_the_marked_readme_section(tmp_path):
    from benchmarks import headline

    records = run_case(_tiny_case(), jax.devices("cpu")[:1], repeat=2)
    meta = {
        "title": "cpu",
        "date": "2026-01-01",
        "jax": jax.__version__,
        "devices": ["cpu: cpu"],
        "host": "x86_64",
        "quick": True,
    }
    paths = report.write(records, meta, tmp_path)
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{headline.START}\nold\n{headline.END}\noutro\n")
    assert headline.main([str(paths["json"]), "--readme", str(readme), "--case", "test.add"]) == 0
    text = readme.read_text()
    assert "old" not in text and text.startswith("intro") and text.endswith("outro\n")
    row = next(line for line in text.splitlines() if line.startswith("| test.add"))
    ratio = float(row.rstrip(" |").rsplit("|", 1)[1])
    ours, peer = records
    assert ratio == pytest.approx(peer.median_s / ours.median_s, abs=0.006)  # 2 decimals


def test_budget_orders_by_priority_and_predicts_from_the_median():
    from benchmarks.budget import Budget, by_priority

    cases = [
        dataclasses.replace(_tiny_case(), name=n, priority=p)
        for n, p in (("a", 100), ("b", 1), ("c", 100), ("d", 5))
    ]
    assert [c.name for c in by_priority(cases)] == ["b", "d", "a", "c"]
    budget = Budget(100.0, reserve=10.0)
    assert budget.fits(0.0) and budget.fits(89.0) and not budget.fits(91.0)
    for d in (10.0, 20.0, 30.0):
        budget.record(d)
    assert budget.predict() == 20.0
    assert budget.fits(60.0) and not budget.fits(61.0)  # 61 + 1.5 * 20 > 90
    assert Budget(None).fits(1e9)
    with pytest.raises(ValueError, match="--budget"):
        Budget(0.0)


def test_budget_run_stops_and_names_what_it_skipped(tmp_path, capsys, monkeypatch):
    import benchmarks.__main__ as cli

    clock = iter(range(0, 10_000, 40))  # every perf_counter() call advances 40 "seconds"
    monkeypatch.setattr(cli, "_clock", lambda: float(next(clock)))
    assert (
        cli.main(
            [
                "--quick",
                "--case",
                "linalg.*",
                "--repeat",
                "1",
                "--budget",
                "150",
                "--device",
                "cpu",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "budget of 150s reached: skipped" in out
    data = json.loads((tmp_path / "cpu-quick.json").read_text())
    assert data["meta"]["complete"] is False and data["meta"]["skipped"]
    ran = {r["case"] for r in data["records"]}
    assert ran and not ran & set(data["meta"]["skipped"])
    assert "INCOMPLETE: the 150 s budget left out" in (tmp_path / "cpu-quick.md").read_text()


def test_a_subset_run_keeps_the_other_cases_of_the_report(tmp_path):
    records = run_case(_tiny_case(), jax.devices("cpu")[:1], repeat=2)
    meta = {
        "title": "cpu",
        "date": "2026-01-01",
        "jax": jax.__version__,
        "devices": ["cpu: cpu"],
        "host": "x86_64",
        "quick": True,
    }
    report.write_data(records, meta, tmp_path)
    other = dataclasses.replace(records[0], case="test.other")
    merged = report.merged(report.earlier_records(meta, tmp_path), [other])
    assert {r.case for r in merged} == {"test.add", "test.other"}
    kept = [r for r in merged if r.case == "test.add"]
    assert kept and all(r.extra["from_run"] == "2026-01-01" for r in kept)
    rerun = report.merged(report.earlier_records(meta, tmp_path), records)
    assert len(rerun) == len(records)  # a case run again replaces its earlier records
    # ... also when its setup recorded measured params (interleaved timings) that differ.
    timed = [dataclasses.replace(r, params={**r.params, "sum_ratio": 4.2}) for r in records]
    assert len(report.merged(records, timed)) == len(records)
    # ... and when the code's model of its reads (passes a call) changed.
    remodelled = [dataclasses.replace(r, params={**r.params, "passes": 2.31}) for r in records]
    assert len(report.merged(timed, remodelled)) == len(records)
    resized = [dataclasses.replace(r, params={**r.params, "n": -1}) for r in records]
    assert len(report.merged(records, resized)) == 2 * len(records)  # sizes still count
    md = report.markdown(merged, meta)
    assert "(from 2026-01-01)" in md and "`% of limit`" in md


def test_gpu_list_is_in_priority_order_and_runs_scaled_down(tmp_path, capsys):
    from benchmarks import gpu_cases
    from benchmarks.__main__ import main

    listed = gpu_cases.cases(1e-3)
    assert [c.priority for c in listed] == sorted(c.priority for c in listed)
    assert listed[0].name == "gpu.median"
    names = {c.name for c in listed}
    assert {
        "gpu.eigh_batched",
        "gpu.matmul_bf16",
        "gpu.eigsh_top10",
        "gpu.pca",
        "gpu.ridge",
        "gpu.logistic",
        "gpu.sample_normal",
    } <= names
    assert (
        main(["--gpu", "--quick", "--case", "gpu.eigh*", "--repeat", "1", "--out", str(tmp_path)])
        == 0
    )
    data = json.loads((tmp_path / "cpu-gpu-list-quick.json").read_text())
    assert data["meta"]["case_list"] == "gpu"
    assert data["records"] and all(r["correct"] for r in data["records"])
    assert "WRONG" not in capsys.readouterr().out
