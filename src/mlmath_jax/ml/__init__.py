"""mlmath_jax.ml (filled in by its issue)."""

__all__: list[str] = []
