"""`robolearn demos bidex --from taco DIR | arctic DIR | generate --out DIR`: write a BiDex task set.

One `<task name>.npz` per demonstration (envs/dexterous/bidex/schema.py) and `tasks.json` with the
trained/unseen split drawn from `--seed`. Train on the set with ROBOLEARN_BIDEX_TASKS=DIR (its tasks are
then registered as BiDex-<category>-<index>).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import tyro

from robolearn.envs.dexterous.bidex.generate import CATEGORIES, generate_demo
from robolearn.envs.dexterous.bidex.readers import read_arctic, read_taco
from robolearn.envs.dexterous.bidex.schema import BimanualDemo, save_demo, split_tasks
from robolearn.retarget.errors import FlagError


@dataclass
class BidexDemosArgs:
    """Write a BiDex task set from TACO or ARCTIC sequences, or generate one from motion primitives."""

    source: Annotated[tuple[str, ...], tyro.conf.arg(name="from", metavar="taco DIR|arctic DIR|generate")]
    out: Path
    """Folder for the task files (created; existing task files of the same names are replaced)."""
    categories: tuple[str, ...] = CATEGORIES
    """--from generate: the categories to generate."""
    count: int = 5
    """--from generate: tasks per category."""
    seed: int = 0
    """Seed of the generated variations and of the trained/unseen split."""
    unseen_fraction: float = 0.2
    """Share of each category's tasks held out as unseen."""


def _read(args: BidexDemosArgs) -> list[BimanualDemo]:
    kind = args.source[0] if args.source else ""
    if kind == "generate" and len(args.source) == 1:
        bad = [c for c in args.categories if c not in CATEGORIES]
        if bad:
            raise FlagError("--categories", ",".join(bad), f"expected some of {', '.join(CATEGORIES)}")
        if args.count < 1:
            raise FlagError("--count", args.count, "expected at least 1 task per category")
        return [generate_demo(c, i, args.seed) for c in args.categories for i in range(args.count)]
    if kind in ("taco", "arctic") and len(args.source) == 2:
        folder = Path(args.source[1])
        if not folder.is_dir():
            raise FlagError("--from", " ".join(args.source), "expected an existing dataset folder")
        return read_taco(folder) if kind == "taco" else read_arctic(folder)
    raise FlagError("--from", " ".join(args.source) or "(nothing)", "expected 'taco DIR', 'arctic DIR' or 'generate'")


def run(args: BidexDemosArgs) -> int:
    if not 0.0 <= args.unseen_fraction < 1.0:
        raise FlagError("--unseen-fraction", args.unseen_fraction, "expected a fraction in [0, 1)")
    demos = _read(args)  # everything is read and checked before anything is written
    args.out.mkdir(parents=True, exist_ok=True)
    split: dict[str, dict[str, list[str]]] = {}
    for category in sorted({d.category for d in demos}):
        names = [d.name for d in demos if d.category == category]
        trained, unseen = split_tasks(names, args.unseen_fraction, args.seed)
        split[category] = {"trained": trained, "unseen": unseen}
    for d in demos:
        save_demo(d, args.out / f"{d.name}.npz")
    tmp = args.out / "tasks.json.tmp"
    tmp.write_text(json.dumps({"seed": args.seed, "split": split}, indent=1))
    tmp.replace(args.out / "tasks.json")
    counts = ", ".join(f"{c}: {len(s['trained']) + len(s['unseen'])}" for c, s in split.items())
    print(f"wrote {len(demos)} BiDex tasks ({counts}) to {args.out}")
    return 0


def main(argv: list[str]) -> int:
    return run(tyro.cli(BidexDemosArgs, args=argv, prog="robolearn demos bidex"))
