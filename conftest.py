"""Test session set-up: eight CPU devices (for the sharding tests) and a quicker compiler.

The device count must be set before JAX starts a backend, so it happens here, before any test
module runs; single-device code is unaffected (arrays live on device 0 unless sharded). Docstring
examples import what they use: no names are injected into the doctest namespace.

Most of the suite's time is XLA compiling many small programs, so the tests ask LLVM for its
lowest optimisation level (``--xla_backend_optimization_level=0``: about a third less time on
compile-heavy tests, measured on 2 cores); results are IEEE arithmetic either way. Set
``MLMATH_TEST_XLA_OPT=default`` to test with XLA's default level (the float64 pass took 7.8
minutes at the default level on 2 cores, so CI runs both passes at level 0).
"""

import os

if os.environ.get("MLMATH_TEST_XLA_OPT", "0") != "default":
    level = os.environ.get("MLMATH_TEST_XLA_OPT", "0")
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_backend_optimization_level" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} --xla_backend_optimization_level={level}".strip()

import jax  # noqa: E402  (after XLA_FLAGS is set)

jax.config.update("jax_num_cpu_devices", int(os.environ.get("MLMATH_TEST_CPU_DEVICES", "8")))
