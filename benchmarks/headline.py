"""The README's headline table from a results file: ``python -m benchmarks.headline FILE``.

For each case and size, our time on each platform against every peer's time, with the
ratio (peer time / our time: above 1, we are faster). With ``--readme`` the table replaces
the text between the ``<!-- headline:start -->`` and ``<!-- headline:end -->`` markers.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from .report import OURS, _fmt_params, _fmt_time

START, END = "<!-- headline:start -->", "<!-- headline:end -->"
# The cases the README shows (used when --case is not given with --readme).
README_CASES = [
    "linalg.matmul",
    "linalg.eigsh.top10",
    "prob.median",
    "prob.quantile",
    "ml.ridge_path",
    "ml.lasso",
    "ml.logistic",
    "ml.logistic_objective",
    "ml.pca",
    "prob.covariance",
    "ml.spectral",
    "calculus.hvp",
    "optim.minimize_steps",
]


def table(payload: dict, cases: list[str] | None = None) -> str:
    """Markdown rows for the given case names (all when None)."""
    records = payload["records"]
    meta = payload["meta"]
    lines = [
        f"Measured {meta['date']} on {', '.join(meta['devices'])} (host: {meta['host']}), "
        f"JAX {meta['jax']}, {'quick' if meta['quick'] else 'full'} mode. "
        "Ratio = peer time / our time (above 1: mlmath_jax is faster).",
        "",
        "| case | size | mlmath_jax | peer | peer time | ratio |",
        "|---|---|---|---|---|---|",
    ]
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in records:
        if cases is None or r["case"] in cases:
            groups.setdefault((r["case"], json.dumps(r["params"], sort_keys=True)), []).append(r)
    for (case, _), rs in groups.items():
        ours = [r for r in rs if r["contender"] == OURS and r["correct"] and r["median_s"]]
        if not ours:
            continue
        best = min(ours, key=lambda r: r["median_s"])
        peers = [r for r in rs if r["contender"] != OURS]
        for p in peers or [None]:
            if p is None:
                peer, ptime, ratio = "-", "-", "-"
            elif not p["correct"]:
                peer, ptime, ratio = p["contender"], "wrong answer", "-"
            else:
                peer, ptime = p["contender"], _fmt_time(p["median_s"])
                ratio = f"{p['median_s'] / best['median_s']:.2f}"
            lines.append(
                f"| {case} | {_fmt_params(best['params'])} | "
                f"{_fmt_time(best['median_s'])} ({best['platform']}) | {peer} | "
                f"{ptime} | {ratio} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.headline", description=__doc__)
    parser.add_argument("results", type=Path)
    parser.add_argument("--case", action="append", help="case names to include (repeatable)")
    parser.add_argument("--readme", type=Path, help="rewrite the marked section of this file")
    args = parser.parse_args(argv)
    cases = args.case or (README_CASES if args.readme else None)
    text = table(json.loads(args.results.read_text()), cases)
    if args.readme:
        doc = args.readme.read_text()
        pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), flags=re.S)
        if not pattern.search(doc):
            raise SystemExit(f"{args.readme} has no {START} ... {END} section")
        args.readme.write_text(pattern.sub(lambda _: f"{START}\n{text}\n{END}", doc))
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
