"""``python -m geoplan.datasets OUT_DIR [--seed N] [--overwrite]``: build the sample workspace."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from ..errors import DataFileError
from .yining import DEFAULT_SEED, build_sample_workspace


def main(argv: Sequence[str] | None = None) -> int:
    """Build the synthetic Yining sample workspace from the command line.

    Parameters
    ----------
    argv
        The arguments after the program name (default: ``sys.argv[1:]``):
        ``OUT_DIR [--seed N] [--overwrite]``.

    Returns
    -------
    int
        The exit code: 0 when the workspace was written, 2 when ``OUT_DIR``
        cannot be used (the message on stderr says why).
    """
    parser = argparse.ArgumentParser(
        prog="python -m geoplan.datasets",
        description="Build the synthetic geoplan sample workspace (deterministic).",
    )
    parser.add_argument("out_dir", help="directory to create, e.g. layers")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default 2023)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing sample workspace in OUT_DIR")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        out = build_sample_workspace(args.out_dir, seed=args.seed, overwrite=args.overwrite)
    except DataFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote the sample workspace to {out} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
