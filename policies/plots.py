"""Learning curves from metrics.jsonl: several runs overlaid, against env steps and wall time."""

from __future__ import annotations

from pathlib import Path

from robolearn.policies.runs import RunError, iter_runs, read_metrics

PANELS = (
    ("mean_return", "mean return"),
    ("Metrics/error_vel_xy", "lin-vel tracking error (m/s)"),
    ("mean_episode_length", "episode length (steps)"),
)
X_AXES = (("env_steps", "env steps"), ("wall_time", "wall time (s)"))


def plot_runs(runs: list[Path] | Path, out_png: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = list(iter_runs([runs] if isinstance(runs, (str, Path)) else runs))
    if not paths:
        raise RunError(f"no run folders (with config.yaml) found in {runs}")
    fig, axes = plt.subplots(len(PANELS), len(X_AXES), figsize=(11, 9), squeeze=False)
    plotted = 0
    for run in paths:
        rows = read_metrics(run)
        if not rows:
            continue
        plotted += 1
        label = f"{run.parent.name}/{run.name}"
        for i, (key, title) in enumerate(PANELS):
            for j, (xkey, xlabel) in enumerate(X_AXES):
                pts = [(r[xkey], r[key]) for r in rows if r.get(key) is not None and r.get(xkey) is not None]
                if pts:
                    xs, ys = zip(*pts, strict=True)
                    axes[i][j].plot(xs, ys, label=label, linewidth=1.2)
                axes[i][j].set_xlabel(xlabel)
                axes[i][j].set_ylabel(title)
                axes[i][j].grid(alpha=0.3)
    if plotted == 0:
        plt.close(fig)
        raise RunError(f"none of the runs has metrics yet: {', '.join(map(str, paths))}")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_png.with_name(f".{out_png.stem}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(out_png)
    return out_png
