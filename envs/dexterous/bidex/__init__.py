"""BiDex: bimanual dexterous tasks built from human hand-object demonstrations (BiDexHD, arXiv 2410.02477).

Importing registers one task per demonstration, `BiDex-<category>-<index>`, and one multi-task env per
category, `BiDex-<category>` (all its tasks; the benchmark splits them into trained and unseen by a seed):
the generated suite (5 tasks per category of envs/dexterous/bidex/generate.py) and, when the variable
ROBOLEARN_BIDEX_TASKS names a folder written by `robolearn demos bidex`, the tasks in it.
"""

from __future__ import annotations

import os
from pathlib import Path

from robolearn.envs.dexterous.bidex.registration import register_category, register_family, register_folder

GENERATED_PER_CATEGORY = 5
register_family()

for _category in ("pour", "stir", "brush", "cut", "pushpull"):
    register_category(_category, GENERATED_PER_CATEGORY)

if os.environ.get("ROBOLEARN_BIDEX_TASKS"):
    register_folder(Path(os.environ["ROBOLEARN_BIDEX_TASKS"]))
