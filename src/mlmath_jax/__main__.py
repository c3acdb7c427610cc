"""``python -m mlmath_jax``: print versions, the backends and devices JAX sees, and x64 mode."""

import platform

import jax

import mlmath_jax


def _report() -> str:
    lines = [
        f"mlmath_jax {mlmath_jax.__version__}",
        f"jax {jax.__version__}, jaxlib {jax.lib.__version__}, python {platform.python_version()}",
        f"default backend: {jax.default_backend()}",
    ]
    for backend in ("cpu", "gpu", "tpu"):
        try:
            devices = jax.devices(backend)
        except RuntimeError:
            continue
        kinds = ", ".join(f"{d.id}: {d.device_kind}" for d in devices)
        lines.append(f"{backend}: {len(devices)} device(s) [{kinds}]")
    lines.append(f"float64 (jax_enable_x64): {'on' if jax.config.jax_enable_x64 else 'off'}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(_report())
