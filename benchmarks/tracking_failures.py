"""Where a tracking policy fails: which termination ends each evaluation episode (from the clip's first frame,
the run's randomization and noise) and, for the end-effector one, which body and whether it was below or
above its reference.

    python benchmarks/tracking_failures.py RUN [--episodes 100] [--out benchmarks/results/tracking/failures.json]
"""

from __future__ import annotations

import argparse
import collections
import json
from pathlib import Path

import torch


def failures(run: Path, episodes: int, seed: int) -> dict[str, object]:
    from robolearn.envs.tracking import mdp as track
    from robolearn.envs.tracking.evaluation import evaluation_cfg
    from robolearn.policies.evaluate import load_run_policy

    pol = load_run_policy(run, num_envs=episodes, seed=seed,
                          edit_env=lambda c: evaluation_cfg(c, episodes, seed))  # fmt: skip
    env, cmd = pol.env, None
    obs, _ = env.reset(seed=seed)
    cmd = track.motion(env)
    names = list(cmd.cfg.body_names)
    active = torch.ones(env.num_envs, dtype=torch.bool, device=env.device)
    terms: collections.Counter[str] = collections.Counter()
    bodies: collections.Counter[str] = collections.Counter()
    lasted: list[int] = []
    longest = int((cmd.motion.ends - cmd.motion.starts).max()) + 1
    for t in range(longest):
        obs, _, terminated, time_out, _ = env.step(pol.act(obs))
        done = (terminated | time_out) & active
        if done.any():
            for name, term in env.termination_manager.terms.items():
                terms[name] += int((done & term.func(env, **term.params)).sum())
            ref, _ = cmd.ref_body_pose_relative()
            dz = ref[:, cmd.end_effectors, 2] - cmd.body_pos_w[:, cmd.end_effectors, 2]
            for i in done.nonzero(as_tuple=True)[0].tolist():
                lasted.append(t + 1)
                for k, e in enumerate(cmd.end_effectors.tolist()):
                    if abs(float(dz[i, k])) > 0.25:
                        bodies[f"{names[e]} {'below' if dz[i, k] > 0 else 'above'} its reference"] += 1
        active &= ~done
        if not active.any():
            break
    lasted.sort()
    q = [lasted[int(f * (len(lasted) - 1))] for f in (0.25, 0.5, 0.75)]
    return {"run": str(run), "episodes": len(lasted), "terminations": dict(terms),
            "end_effector_bodies": dict(bodies), "episode_steps_quartiles": q}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run", type=Path)
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--seed", type=int, default=123)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    result = failures(args.run, args.episodes, args.seed)
    print(json.dumps(result, indent=2))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.out.with_suffix(".tmp")
        tmp.write_text(json.dumps(result, indent=2))
        tmp.replace(args.out)


if __name__ == "__main__":
    main()
