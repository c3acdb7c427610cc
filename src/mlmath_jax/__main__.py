"""``python -m mlmath_jax``: versions, the backends and devices JAX sees, and x64 mode.

The JAX part is :func:`jax.print_environment_info`; this adds the library's version, every
backend's devices and whether float64 is on.
"""

from __future__ import annotations

import argparse
import sys

import jax

import mlmath_jax


def report() -> str:
    """The environment report as text (what ``python -m mlmath_jax`` prints)."""
    lines = [f"mlmath_jax: {mlmath_jax.__version__}"]
    info = jax.print_environment_info(return_string=True)
    assert info is not None  # a str with return_string=True (the stub says str | None)
    lines.append(info.rstrip())
    lines.append(f"default backend: {jax.default_backend()}")
    for backend in ("cpu", "gpu", "tpu"):
        try:
            devices = jax.devices(backend)
        except RuntimeError:
            continue
        kinds = ", ".join(f"{d.id}: {d.device_kind}" for d in devices)
        lines.append(f"{backend}: {len(devices)} device(s) [{kinds}]")
    x64 = jax.config.read("jax_enable_x64")
    lines.append(f"float64 (jax_enable_x64): {'on' if x64 else 'off'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (``--help``, ``--version``) and print the report."""
    parser = argparse.ArgumentParser(
        prog="python -m mlmath_jax",
        description=(
            "Print mlmath_jax's version, JAX's environment (jax, jaxlib, numpy, python, "
            "platform), the devices of every backend JAX sees, and whether float64 is on. "
            "Run the benchmark report with `python -m benchmarks --quick` from a clone."
        ),
    )
    parser.add_argument("--version", action="version", version=mlmath_jax.__version__)
    parser.parse_args(argv)
    print(report())
    return 0


if __name__ == "__main__":
    sys.exit(main())
