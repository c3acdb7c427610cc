import subprocess
import sys

import mlmath_jax
from mlmath_jax.__main__ import main, report


def test_report_names_versions_devices_and_x64():
    text = report()
    assert f"mlmath_jax: {mlmath_jax.__version__}" in text
    assert "jaxlib:" in text
    assert "cpu:" in text and "device(s)" in text
    assert "jax_enable_x64" in text


def test_help_prints_usage_and_exits_zero():
    out = subprocess.run(
        [sys.executable, "-m", "mlmath_jax", "--help"], capture_output=True, text=True
    )
    assert out.returncode == 0
    assert out.stdout.startswith("usage: python -m mlmath_jax")
    assert "mlmath_jax:" not in out.stdout  # --help does not run the report


def test_unknown_flag_is_an_error(capsys):
    try:
        main(["--no-such-flag"])
    except SystemExit as exc:
        assert exc.code == 2
    else:
        raise AssertionError("an unknown flag must exit with status 2")
    assert "unrecognized arguments" in capsys.readouterr().err
