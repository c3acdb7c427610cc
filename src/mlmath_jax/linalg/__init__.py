"""mlmath_jax.linalg (filled in by its issue)."""

__all__: list[str] = []
