"""The mlmath_jax benchmark suite: ``python -m benchmarks [--quick] [--case PATTERN]``.

A :class:`~benchmarks.harness.Case` is host-side setup plus contenders (ours under ``jit``
on each JAX device; NumPy, SciPy, scikit-learn or a plain Python loop on the host). Every
contender gets the same inputs; its answer is checked against the reference before its
time counts. Cases live in ``benchmarks/cases/<area>.py``, each exposing ``cases(quick)``.
"""
