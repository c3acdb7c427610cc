"""Peak figures of known accelerators, for the fraction-of-the-hardware-limit column.

Dense (non-sparse) peaks from the vendors' data sheets, in FLOP/s and bytes/s. A device
not in the table gets "unknown"; CPUs are not rated.
"""

from __future__ import annotations

from typing import Any

T = 1e12
# name fragment (lower case, most specific first) -> peaks
PEAKS: list[tuple[str, dict[str, float]]] = [
    ("h200", {"fp64": 67 * T, "fp32": 67 * T, "tf32": 495 * T, "bf16": 989 * T, "bw": 4.8e12}),
    ("h100 pcie", {"fp64": 51 * T, "fp32": 51 * T, "tf32": 378 * T, "bf16": 756 * T, "bw": 2.0e12}),
    ("h100", {"fp64": 67 * T, "fp32": 67 * T, "tf32": 495 * T, "bf16": 989 * T, "bw": 3.35e12}),
    (
        "a100-sxm4-40gb",
        {"fp64": 19.5 * T, "fp32": 19.5 * T, "tf32": 156 * T, "bf16": 312 * T, "bw": 1.555e12},
    ),
    (
        "a100",
        {"fp64": 19.5 * T, "fp32": 19.5 * T, "tf32": 156 * T, "bf16": 312 * T, "bw": 2.039e12},
    ),
    ("l4", {"fp64": 0.49 * T, "fp32": 30.3 * T, "tf32": 60 * T, "bf16": 121 * T, "bw": 0.3e12}),
    ("t4", {"fp64": 0.25 * T, "fp32": 8.1 * T, "bf16": 65 * T, "bw": 0.32e12}),
]


def peaks_for(device_kind: str) -> dict[str, float] | None:
    """Peak table row for a device kind string (e.g. ``"NVIDIA H100 80GB HBM3"``), or None."""
    kind = device_kind.lower()
    for fragment, peaks in PEAKS:
        if fragment in kind:
            return peaks
    return None


def fraction_of_limit(
    device: Any, flops_per_s: float | None, bytes_per_s: float | None, precision: str
) -> tuple[float | None, str | None]:
    """Achieved rate over the device's peak: FLOP/s if known, else bytes/s.

    Returns ``(fraction, description)``; ``(None, "unknown")`` for an unlisted accelerator
    and ``(None, None)`` for CPUs or cases with no work figure.
    """
    if getattr(device, "platform", "cpu") == "cpu":
        return None, None
    peaks = peaks_for(device.device_kind)
    if peaks is None:
        return None, "unknown"
    if flops_per_s is not None and precision in peaks:
        return flops_per_s / peaks[precision], f"{precision} peak {peaks[precision] / T:g} TFLOP/s"
    if bytes_per_s is not None:
        return bytes_per_s / peaks["bw"], f"bandwidth {peaks['bw'] / 1e12:g} TB/s"
    return None, None
