"""Does an H1-Skill-Step policy step? How much of the gap to its foot targets it closes.

    python benchmarks/step_skill.py runs/H1-Skill-Step/<run> [runs/H1-Skill-Step/<run> ...] --worlds 64

The step skill's tracking reward pays almost as much for standing still as for stepping, so its return does
not say whether it steps. This measures it directly: with deterministic actions on held-out seeds and the
full target range (no curriculum), the mean foot-to-target xy distance at least `--settle-s` after each
target was drawn, against the distance had the feet stayed where they were when it was drawn, on the same
targets. A ratio of 1 is standing still; 0 is every foot on its target.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from robolearn.envs.humanoid import h1_skills
from robolearn.policies.evaluate import load_run_policy

RESULTS = Path(__file__).resolve().parent / "results" / "step_skill.json"


@torch.no_grad()
def gap_closed(run: Path, worlds: int, steps: int, settle_s: float, seed: int) -> dict[str, float]:
    pol = load_run_policy(run, num_envs=worlds, seed=seed)
    env = pol.env
    obs, _ = env.reset(seed=seed)
    target = h1_skills.foot_targets_w(env)
    drawn = target.clone()
    feet_at_draw = h1_skills.feet_pos_w(env)[..., :2].clone()
    age = torch.zeros(worlds, device=env.device)
    settle = settle_s / env.step_dt
    now, stayed = [], []
    for _ in range(steps):
        obs, _, terminated, time_out, _ = env.step(pol.act(obs))
        feet = h1_skills.feet_pos_w(env)[..., :2]
        new = ((target - drawn).abs().sum(dim=(-1, -2)) > 1e-9) | terminated | time_out
        feet_at_draw[new] = feet[new]
        age[new] = 0.0
        age += 1.0
        drawn = target.clone()
        ok = age > settle
        if ok.any():
            now.append((target - feet).norm(dim=-1).mean(-1)[ok])
            stayed.append((target - feet_at_draw).norm(dim=-1).mean(-1)[ok])
    a, b = torch.cat(now), torch.cat(stayed)
    return {"foot_to_target_m": float(a.mean()), "if_feet_stayed_m": float(b.mean()),
            "ratio": float(a.mean() / b.mean()), "samples": len(a)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--worlds", type=int, default=64)
    parser.add_argument("--steps", type=int, default=500, help="policy steps (500 = one 10 s episode)")
    parser.add_argument("--settle-s", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=RESULTS, help="results json (replaced, not merged)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = {}
    print(f"{'run':<60}{'foot to target (m)':>20}{'if feet stayed (m)':>20}{'ratio':>8}")
    for run in args.runs:
        r = rows[str(run)] = gap_closed(run, args.worlds, args.steps, args.settle_s, args.seed)
        print(f"{str(run):<60}{r['foot_to_target_m']:>20.3f}{r['if_feet_stayed_m']:>20.3f}{r['ratio']:>8.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(
        json.dumps({"worlds": args.worlds, "steps": args.steps, "seed": args.seed, "runs": rows}, indent=2)
    )
    tmp.replace(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
