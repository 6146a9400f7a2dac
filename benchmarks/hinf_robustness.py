"""Robustness of H-infinity locomotion against two baselines.

Three A1-Velocity-HInf runs trained with the same budget (run folders whose names end in -dr, -adv, -hinf):
  dr    PPO with random trunk forces (--agent.disturber random --agent.no-constrained)
  adv   adversarial PPO, no constraint (--agent.no-constrained --agent.no-effort-penalty)
  hinf  H-infinity (defaults)
each evaluated on the same held-out seeds under: no disturbance, random continuous forces, impulses of
increasing size, and the trained disturbers of the adv and hinf runs. Prints a table of return, tracking
error and fall rate per condition, writes JSON and a fall-rate-vs-impulse plot.

  python benchmarks/hinf_robustness.py --runs runs/hinf-bench/A1-Velocity-HInf            # all
  python benchmarks/hinf_robustness.py --runs ... --only hinf                              # one policy
  python benchmarks/hinf_robustness.py --runs ... --report                                 # merge + plot
  python benchmarks/hinf_robustness.py --seeds 0 1 2 --time-limit-min 60   # train all three per seed on Ray,
                                                                            # median [min, max] per cell
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import torch
from seeds import add_seed_args, spread_table, train_methods  # benchmarks/seeds.py (run as a script)
from tensordict import TensorDict

from robolearn.policies import setup
from robolearn.policies.evaluate import LoadedPolicy, evaluate, load_run_policy
from robolearn.policies.hinf_eval import Impulse, RandomForces, TrainedDisturber

POLICIES = ("dr", "adv", "hinf")
EPISODE_S = 5.0
"""Eval episodes are shorter than training's 20 s: the impulse lands at 2 s, recovery shows within 3 s."""
RANDOM_MAX_N = 40.0
IMPULSES_N = (50.0, 100.0, 150.0, 200.0, 300.0, 400.0, 500.0)
"""Held for 0.1 s: 5 to 50 N s on a 12.5 kg robot."""
RESULTS = Path(__file__).parent / "results"


def find_runs(root: Path) -> dict[str, Path]:
    runs = {}
    for name in POLICIES:
        found = sorted(p for p in root.iterdir() if p.is_dir() and p.name.endswith(f"-{name}"))
        if not found:
            raise SystemExit(f"no run folder ending in -{name} under {root}")
        runs[name] = found[-1]
    return runs


def short_episode_policy(run: Path, episodes: int, seed: int) -> LoadedPolicy:
    base = load_run_policy(run, num_envs=1, seed=seed)
    # Evaluation drops training curricula (the full command range), as `robolearn eval` does.
    env_cfg = dataclasses.replace(setup.eval_env_cfg(base.spec.env), episode_length_s=EPISODE_S)
    env = setup.make_env(env_cfg, base.spec.device, num_envs=episodes, seed=seed)
    actor = base.actor

    @torch.no_grad()
    def act(obs: dict[str, torch.Tensor]) -> torch.Tensor:
        return actor(TensorDict(obs, batch_size=[env.num_envs], device=env.device))

    return LoadedPolicy(base.spec, base.checkpoint, env, act, actor)


def evaluate_policy(name: str, runs: dict[str, Path], episodes: int, seed: int) -> dict[str, dict]:
    pol = short_episode_policy(runs[name], episodes, seed)
    conditions: list[tuple[str, object]] = [
        ("none", None),
        (f"random {RANDOM_MAX_N:g} N", RandomForces(RANDOM_MAX_N)),
    ]
    conditions += [(f"impulse {f:g} N", Impulse(f)) for f in IMPULSES_N]
    conditions += [(f"disturber of {other}", TrainedDisturber(runs[other])) for other in ("adv", "hinf")]
    out = {}
    for label, push in conditions:
        res = evaluate(pol, episodes, seed, push)
        out[label] = {
            "return": res["return"]["mean"],
            "error_vel_xy": res["error_vel_xy"]["mean"],
            "fall_rate": res["failure_rate"]["mean"],
            "fall_rate_ci95": res["failure_rate"]["ci95"],
        }
        print(f"[{name}] {label}: {out[label]}", flush=True)
    return out


def report(results: dict[str, dict], meta: dict) -> None:
    labels = list(next(iter(results.values())).keys())
    print(f"\nA1-Velocity-HInf, {meta['episodes']} episodes of {EPISODE_S:g} s per cell, seed {meta['seed']}")
    print("cell: return / tracking error xy (m/s) / fall rate ± 95% CI\n")
    print("| condition | " + " | ".join(results) + " |")
    print("|---|" + "---|" * len(results))
    for label in labels:
        cells = " | ".join(
            f"{r[label]['return']:.2f} / {r[label]['error_vel_xy']:.3f} / {r[label]['fall_rate']:.2f} "
            f"± {r[label]['fall_rate_ci95']:.2f}"
            for r in results.values()
        )
        print(f"| {label} | {cells} |")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    xs = [0.0, *IMPULSES_N]
    for name, r in results.items():
        ys = [r["none"]["fall_rate"]] + [r[f"impulse {f:g} N"]["fall_rate"] for f in IMPULSES_N]
        ax.plot(xs, ys, marker="o", label=name)
    ax.set_xlabel("impulse force (N, held 0.1 s)")
    ax.set_ylabel("fall rate")
    ax.set_title("A1: fall rate vs impulse")
    ax.legend()
    fig.tight_layout()
    png = RESULTS / "hinf_fall_rate_vs_impulse.png"
    fig.savefig(png, dpi=120)
    print(f"wrote {png}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=Path, default=Path("runs/hinf-bench/A1-Velocity-HInf"))
    parser.add_argument("--episodes", type=int, default=64)
    parser.add_argument("--seed", type=int, default=10_000)
    parser.add_argument("--only", choices=POLICIES)
    parser.add_argument("--report", action="store_true", help="merge the per-policy JSON files and plot")
    parser.add_argument("--time-limit-min", type=float, default=60.0, help="--seeds: training budget per run")
    parser.add_argument("--iterations", type=int, default=None, help="--seeds: iterations per run (default: preset)")
    add_seed_args(parser)
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    if args.seeds:
        return seeds_main(args)
    runs = find_runs(args.runs)
    meta = {"episodes": args.episodes, "seed": args.seed, "runs": {k: str(v) for k, v in runs.items()}}
    names = [args.only] if args.only else list(POLICIES)
    if not args.report:
        for name in names:
            res = evaluate_policy(name, runs, args.episodes, args.seed)
            (RESULTS / f"hinf_robustness_{name}.json").write_text(
                json.dumps({"meta": meta, "results": res}, indent=2)
            )
    if args.report or not args.only:
        results = {
            n: json.loads((RESULTS / f"hinf_robustness_{n}.json").read_text())["results"] for n in POLICIES
        }
        (RESULTS / "hinf_robustness.json").write_text(
            json.dumps({"meta": meta, "results": results}, indent=2)
        )
        report(results, meta)


METHODS = {
    "dr": {"agent.disturber": "random", "agent.constrained": "false"},
    "adv": {"agent.constrained": "false", "agent.effort_penalty": "false"},
    "hinf": {},
}
"""The three runs' settings, as the module docstring's flags give them."""


def seeds_main(args: argparse.Namespace) -> None:
    """--seeds: dr, adv and hinf trained per seed on Ray; each seed's three runs evaluated as above (the trained
    disturbers are that seed's), every cell reported as the median over seeds [min, max]."""
    task = "A1-Velocity-HInf"
    runs = train_methods("hinf_robustness", {m: {"task": task, "setting": s} for m, s in METHODS.items()}, args,
                         max_iterations=args.iterations, time_limit_min=args.time_limit_min)  # fmt: skip
    rows = []
    for seed in args.seeds:
        seed_runs = {m: runs.get(m, {}).get(seed) for m in POLICIES}
        if any(r is None for r in seed_runs.values()):
            print(f"seed {seed}: a run failed; left out")
            continue
        for name in POLICIES:
            for label, cell in evaluate_policy(name, seed_runs, args.episodes, args.seed).items():  # type: ignore[arg-type]
                rows.append({"cell": f"{name}: {label}", "seed": seed, **cell})
    table = spread_table(rows, [("return", "return", ".2f"), ("error_vel_xy", "err xy (m/s)", ".3f"),
                                ("fall_rate", "fall rate", ".2f")], group="cell")  # fmt: skip
    (RESULTS / "hinf_robustness_seeds.json").write_text(json.dumps(rows, indent=2))
    print(f"\n{task}, {args.episodes} episodes per cell and seed; median over seeds [min, max]\n{table}")


if __name__ == "__main__":
    main()
