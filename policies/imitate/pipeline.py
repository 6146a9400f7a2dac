"""`robolearn imitate`: human motion -> retargeted clips -> tracking policy -> eval -> export -> sim2sim -> video.

Each stage is a plain function of the run folder and the config that returns what it wrote; `imitate` runs them
through the StageRunner (manifest.py), which skips a stage whose inputs (values, files, the outputs of the
stages above it) are unchanged and whose outputs are intact. Every stage reuses the verb that does its job:
retarget.api, policies.train, policies.evaluate (eval and export), sim2real's sim2sim. Nothing here names a
task: the tracking task is the registered task for the robot whose env config has a command term with a
`motion_file` field (the reference clips).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from robolearn.atomic import save_npz
from robolearn.policies.imitate.manifest import StageResult, StageRunner, inputs_sha256
from robolearn.policies.runs import RunError, atomic_write_text, list_checkpoints

console = Console()
STAGES = ("retarget", "train", "eval", "export", "sim2sim", "video", "report")
VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm")


@dataclass
class ImitateCfg:
    motion: Path
    """A motion file (BVH, keypoints .npz/.csv/.json, SMPL .npy/.npz, video) or a folder of them."""
    robot: str = "g1"
    out: Path | None = None
    """Run folder (default: runs/imitate/<motion name>-<robot>)."""
    task: str | None = None
    """Tracking task (default: the registered task for the robot whose command takes a motion file)."""
    max_iterations: int | None = None
    num_envs: int | None = None
    seed: int = 0
    backend: str | None = None
    """Sim backend of training ('cpu' = mjbatch, 'warp' = mujoco-warp on a GPU); None: the task's."""
    device: str = "cpu"
    eval_episodes: int = 100
    sim2sim_episodes: int = 4
    latency_ms: float = 20.0
    noise: float = 1.0
    """sim2sim sensor noise as a multiple of the training noise."""
    video: bool = True
    resume: bool = False
    """Continue an interrupted training stage from its latest checkpoint instead of starting it over."""
    units: str = "auto"
    up: str = "auto"
    frames: tuple[int, int | None] | None = None
    """Source frame range [start, stop) of every motion file (None: all frames)."""

    def run_dir(self) -> Path:
        return self.out or Path("runs") / "imitate" / f"{self.motion.stem}-{self.robot}"


# -- inputs -------------------------------------------------------------------------------------------
def motion_files(motion: Path) -> list[Path]:
    """The motion file, or every motion file of a folder (sorted); a clear error when there is none."""
    from robolearn.retarget.sources import BODY_SUFFIXES

    suffixes = (*BODY_SUFFIXES, *VIDEO_SUFFIXES)
    if motion.is_dir():
        files = sorted(p for p in motion.iterdir() if p.is_file() and p.suffix.lower() in suffixes)
        if not files:
            raise FileNotFoundError(f"{motion}: no motion files (expected {', '.join(suffixes)})")
        return files
    if not motion.is_file():
        raise FileNotFoundError(f"{motion}: no such motion file or folder")
    if motion.suffix.lower() not in suffixes:
        raise ValueError(
            f"{motion}: unsupported motion format {motion.suffix!r}; expected {', '.join(suffixes)}"
        )
    return [motion]


def motion_command(env_cfg: Any) -> tuple[str, Any] | None:
    """(name, cfg) of the env's command term that takes a reference motion file, if any."""
    for name, cmd in (getattr(env_cfg, "commands", None) or {}).items():
        if hasattr(cmd, "motion_file"):
            return name, cmd
    return None


def tracking_task(robot: str, task: str | None) -> str:
    from robolearn.registry import get_task, task_names

    if task is not None:
        cfg = get_task(task).env_cfg()
        if motion_command(cfg) is None:
            raise ValueError(f"--task {task}: its commands take no motion file; expected a tracking task")
        if cfg.scene.robot != robot:
            raise ValueError(f"--task {task} trains the {cfg.scene.robot}, not --robot {robot}; expected a "
                             f"tracking task for the {robot}")  # fmt: skip
        return task
    found = []
    for name in task_names(kind="rl"):
        cfg = get_task(name).env_cfg()
        if cfg.scene.robot == robot and motion_command(cfg) is not None:
            found.append(name)
    if not found:
        raise ValueError(
            f"--robot {robot}: no tracking task (a task whose command takes a motion file) for it"
        )
    return found[0]


def task_env(task: str, clips: Path, cfg: ImitateCfg) -> Any:
    """The task's env config on the retargeted clips, with the learners' short flags applied."""
    from robolearn.registry import get_task

    env_cfg = get_task(task).env_cfg()
    name, cmd = motion_command(env_cfg)  # type: ignore[misc]  # tracking_task checked it has one
    commands = {**env_cfg.commands, name: dataclasses.replace(cmd, motion_file=str(clips))}
    env_cfg = dataclasses.replace(env_cfg, commands=commands, seed=cfg.seed)
    if cfg.backend is not None:
        env_cfg = dataclasses.replace(env_cfg, sim=dataclasses.replace(env_cfg.sim, backend=cfg.backend))
    return env_cfg


def _bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console)  # fmt: skip


# -- stages -------------------------------------------------------------------------------------------
def stage_retarget(run: Path, files: list[Path], cfg: ImitateCfg, fps: float) -> StageResult:
    """Every motion file onto the robot at the policy rate: clips/<name>.npz, the scaled human skeleton beside
    it (for the video) and the quality report of each (retarget.json)."""
    from robolearn.retarget.api import retarget_file

    outputs, report = [], {}
    for folder in ("clips", "human"):  # clips of motion files no longer given must not reach training
        shutil.rmtree(run / folder, ignore_errors=True)
    with _bar() as bar:
        for src in files:
            path, cleanup = _keypoints_of(src)
            try:
                task = bar.add_task(f"retarget {src.name} -> {cfg.robot}", total=None)
                res = retarget_file(path, cfg.robot, fps=fps, units=cfg.units, up=cfg.up, frames=cfg.frames,
                                    progress=lambda t, k=task: bar.update(k, completed=t + 1))  # fmt: skip
            finally:
                if cleanup:
                    path.unlink(missing_ok=True)
            clip_rel, human_rel = f"clips/{src.stem}.npz", f"human/{src.stem}.npz"
            res.clip.save(run / clip_rel)
            save_npz(run / human_rel, {"points": res.human_points.astype(np.float32),
                                       "names": np.array(res.point_names)})  # fmt: skip
            report[src.name] = res.metrics.as_dict()
            outputs += [clip_rel, human_rel]
    atomic_write_text(run / "retarget.json", json.dumps(report, indent=2, default=float))
    return StageResult([*outputs, "retarget.json"], {"clips": outputs[::2]})


def _keypoints_of(src: Path) -> tuple[Path, bool]:
    """A video goes through MediaPipe (its own venv) to a keypoint file first; other sources are read as they are."""
    if src.suffix.lower() not in VIDEO_SUFFIXES:
        return src, False
    from robolearn.retarget.sources.estimates import read_estimate, run_mediapipe

    with console.status(f"MediaPipe pose on {src.name}"):
        keypoints = run_mediapipe(src, "body", None)
    read_estimate(keypoints, video=src)
    return keypoints, True


def stage_train(run: Path, task: str, cfg: ImitateCfg, inputs_hash: str) -> StageResult:
    """PPO on the tracking task over the clips (the task's CPU preset; --backend warp for a GPU). An interrupted
    training run left in train/ is continued with --resume when it was started on the same inputs (clips,
    flags), else started over."""
    from robolearn.policies.cli import TrainArgs
    from robolearn.policies.train import train

    logdir = run / "train"
    stamp = logdir / "inputs.sha256"
    same = stamp.is_file() and stamp.read_text().strip() == inputs_hash
    partial = sorted(p for p in (logdir / task).glob("*") if p.is_dir() and list_checkpoints(p))
    if cfg.resume and partial and same:
        console.print(f"resuming the interrupted training run {partial[-1]}")
        args = TrainArgs(resume=partial[-1], max_iterations=cfg.max_iterations, device=cfg.device)
    else:
        if cfg.resume and partial:
            console.print(f"not resuming {partial[-1]}: it was started on other clips or flags")
        shutil.rmtree(logdir, ignore_errors=True)  # a stale or interrupted run: started over
        logdir.mkdir(parents=True)
        atomic_write_text(stamp, inputs_hash)
        env_cfg = task_env(task, run / "clips", cfg)
        args = TrainArgs(task=task, env=env_cfg, logdir=logdir, run_name="policy", device=cfg.device,
                         num_envs=cfg.num_envs, max_iterations=cfg.max_iterations)  # fmt: skip
    result = train(args)
    if result.interrupted or result.checkpoint is None:
        raise KeyboardInterrupt  # the run stays in train/ for --resume; the manifest has no train entry
    rel = result.run.relative_to(run)
    ckpt = result.checkpoint.relative_to(run)
    return StageResult([str(ckpt), str(rel / "config.yaml")], {"run": str(rel), "checkpoint": str(ckpt)})


def stage_eval(run: Path, train_run: Path, cfg: ImitateCfg) -> StageResult:
    from robolearn.policies.evaluate import eval_run

    eval_run(train_run, episodes=cfg.eval_episodes, seed=10_000 + cfg.seed, out=run / "eval.json")
    return StageResult(["eval.json"])


def stage_export(run: Path, train_run: Path) -> StageResult:
    from robolearn.policies.evaluate import export_run

    export_run(train_run, out=run / "export")
    files = ["export/policy.onnx", "export/policy.json"]
    if (run / "export" / "motion.npz").is_file():
        files.append("export/motion.npz")
    return StageResult(files)


def stage_sim2sim(run: Path, cfg: ImitateCfg) -> StageResult:
    """The exported policy on the full robot model (PD in the motor driver, latency, sensor noise), every clip."""
    from robolearn.sim2real.sim2sim import Sim2SimCfg
    from robolearn.sim2real.tracking_sim2sim import run_tracking_sim2sim

    sim_cfg = Sim2SimCfg(
        episodes=cfg.sim2sim_episodes, latency_ms=cfg.latency_ms, noise=cfg.noise, seed=cfg.seed
    )
    with _bar() as bar:
        task = bar.add_task("sim2sim (full model)", total=None)
        report = run_tracking_sim2sim(run / "export", sim_cfg, states=run / "sim2sim_states.npz",
                                      progress=lambda done, total: bar.update(task, completed=done, total=total))  # fmt: skip
    atomic_write_text(run / "sim2sim.json", json.dumps(report, indent=2))
    return StageResult(["sim2sim.json", "sim2sim_states.npz"])


def stage_video(run: Path, clips: list[str]) -> StageResult:
    from robolearn.gl import RenderUnavailable, render_skipped
    from robolearn.policies.imitate.media import side_by_side

    try:
        with _bar() as bar:
            task = bar.add_task("video", total=None)
            side_by_side(run, clips, run / "video.mp4",
                         progress=lambda done, total: bar.update(task, completed=done, total=total))  # fmt: skip
    except RenderUnavailable as exc:
        render_skipped("the side-by-side video", exc)
        return StageResult([], {"skipped": str(exc)}, done=False)
    return StageResult(["video.mp4"])


# -- the chain ----------------------------------------------------------------------------------------
def _announce(k: int, total: int, name: str, skipped: bool) -> None:
    note = " [dim](unchanged: skipped)[/dim]" if skipped else ""
    console.rule(f"[bold]{k}/{total} {name}[/bold]{note}")


def imitate(cfg: ImitateCfg) -> StageRunner:
    """Run (or pick up) the whole chain into cfg.run_dir(); returns the runner (its records say what ran)."""
    from robolearn.policies.imitate.report import write_report
    from robolearn.robots import robot_info

    robot_info(cfg.robot)  # an unknown robot: the error lists the known ones, before anything is written
    files = motion_files(cfg.motion)
    task = tracking_task(cfg.robot, cfg.task)
    env_cfg = task_env(task, Path("."), cfg)
    fps = 1.0 / (env_cfg.sim.dt * env_cfg.decimation)  # clips at the policy rate: one frame per step
    run = cfg.run_dir()
    run.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run / "imitate.json", json.dumps({k: str(v) if isinstance(v, Path) else v
                                                        for k, v in dataclasses.asdict(cfg).items()}, indent=2))  # fmt: skip
    runner = StageRunner(run, _announce, len(STAGES))
    rt = runner.stage("retarget", {"files": files, "robot": cfg.robot, "fps": fps, "units": cfg.units, "up": cfg.up,
                                   "frames": cfg.frames},
                      lambda: stage_retarget(run, files, cfg, fps))  # fmt: skip
    clips = [run / c for c in rt.info["clips"]]
    train_inputs = {"task": task, "clips": clips, "max_iterations": cfg.max_iterations, "num_envs": cfg.num_envs,
                    "seed": cfg.seed, "backend": cfg.backend, "device": cfg.device}  # fmt: skip
    tr = runner.stage("train", train_inputs, lambda: stage_train(run, task, cfg, inputs_sha256(train_inputs)))
    train_run, ckpt = run / tr.info["run"], run / tr.info["checkpoint"]
    runner.stage("eval", {"checkpoint": ckpt, "episodes": cfg.eval_episodes, "seed": cfg.seed},
                 lambda: stage_eval(run, train_run, cfg))  # fmt: skip
    ex = runner.stage("export", {"checkpoint": ckpt}, lambda: stage_export(run, train_run))
    exported = [run / f for f in ex.outputs]
    runner.stage("sim2sim", {"export": exported, "episodes": cfg.sim2sim_episodes, "latency_ms": cfg.latency_ms,
                             "noise": cfg.noise, "seed": cfg.seed}, lambda: stage_sim2sim(run, cfg))  # fmt: skip
    if cfg.video:
        runner.stage("video", {"clips": clips, "states": run / "sim2sim_states.npz"},
                     lambda: stage_video(run, rt.info["clips"]))  # fmt: skip
    reported = [
        run / f for f in ("retarget.json", "eval.json", "sim2sim.json", "video.mp4") if (run / f).is_file()
    ]
    runner.stage("report", {"files": reported},
                 lambda: write_report(run, task, runner))  # fmt: skip
    return runner


def check_run_folder(cfg: ImitateCfg) -> None:
    """A --resume names a run folder that `imitate` made (its imitate.json holds the arguments)."""
    run = cfg.run_dir()
    if cfg.resume and not (run / "imitate.json").is_file():
        raise RunError(f"--resume {run}: not an imitate run folder ({run / 'imitate.json'} is missing)")
