"""The rows both processes of the two-process test (and the reference) share."""

import numpy as np


def rows(n: int = 2048, d: int = 5):
    """Seeded ``(X, y, labels)``: float32 ``[n, d]``, ``[n]`` targets and 0/1 labels."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((n, d)).astype(np.float32)
    y = (X @ rng.standard_normal(d) + 0.1 * rng.standard_normal(n)).astype(np.float32)
    return X, y, (y > 0).astype(np.int32)
