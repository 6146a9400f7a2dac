"""A training run's life between checkpoints: Ctrl-C handling, and the learner-side state a checkpoint
carries beyond the networks (episode statistics and the logging windows, random generators), so a resumed
run continues the same training instead of a restarted one."""

from __future__ import annotations

import json
import math
import random
import signal
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from rich.console import Console

from robolearn.core.snapshot import SnapshotError, env_state, load_env_state
from robolearn.policies.runs import RunError, checkpoint_iteration, checkpoint_path, list_checkpoints

if TYPE_CHECKING:
    from robolearn.policies import setup

RETURN_WINDOW = 200
"""Completed episodes averaged for mean_return / mean_episode_length."""

console = Console()


@dataclass
class TrainResult:
    run: Path
    iterations: int
    interrupted: bool
    checkpoint: Path | None


class TrainingAborted(Exception):
    """The second Ctrl-C: the iteration under way is abandoned (its update is never applied or saved)."""


class Interrupt:
    """First Ctrl-C: finish the iteration, save, export, exit. Second Ctrl-C: `aborted` is set, and the loop
    abandons the iteration at its next env step (`check`).

    The handler never raises: an exception thrown from a signal handler lands wherever the main thread is
    (a half-done import, a checkpoint write, inside the optimizer step), which is how the second Ctrl-C used
    to leave a traceback and an export older than the newest checkpoint."""

    def __init__(self) -> None:
        self.requested = False
        self.aborted = False
        self._previous: Any = None

    def __enter__(self) -> Interrupt:
        self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if not self.requested:
            self.requested = True
            console.print(
                "[yellow]Ctrl-C: saving a checkpoint after this iteration (Ctrl-C again to abort)[/]"
            )
        elif not self.aborted:
            self.aborted = True
            console.print(
                "[yellow]Ctrl-C: abandoning this iteration; the newest checkpoint stays the run's[/]"
            )

    def check(self) -> None:
        """Raise TrainingAborted after a second Ctrl-C; called where abandoning loses nothing saved."""
        if self.aborted:
            raise TrainingAborted

    def __exit__(self, *exc: Any) -> None:
        signal.signal(signal.SIGINT, self._previous)


class EpisodeStats:
    """Each world's running return and length, and the windows of completed episodes the log averages."""

    def __init__(self, num_envs: int, device: torch.device | str) -> None:
        self.ep_return = torch.zeros(num_envs, device=device)
        self.ep_length = torch.zeros(num_envs, device=device)
        self.returns: deque[float] = deque(maxlen=RETURN_WINDOW)
        self.lengths: deque[float] = deque(maxlen=RETURN_WINDOW)

    def add(self, reward: torch.Tensor, dones: torch.Tensor) -> None:
        self.ep_return += reward
        self.ep_length += 1
        done_ids = dones.nonzero(as_tuple=True)[0]
        if len(done_ids):
            self.returns.extend(self.ep_return[done_ids].tolist())
            self.lengths.extend(self.ep_length[done_ids].tolist())
            self.ep_return[done_ids] = 0.0
            self.ep_length[done_ids] = 0.0

    def state_dict(self) -> dict[str, Any]:
        return {"ep_return": self.ep_return.clone(), "ep_length": self.ep_length.clone(),
                "returns": list(self.returns), "lengths": list(self.lengths)}  # fmt: skip

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state["ep_return"].shape != self.ep_return.shape:
            raise ValueError(f"episode statistics of {state['ep_return'].shape[0]} worlds, "
                             f"this run has {self.ep_return.shape[0]}")  # fmt: skip
        self.ep_return.copy_(state["ep_return"])
        self.ep_length.copy_(state["ep_length"])
        self.returns.clear()
        self.returns.extend(state["returns"])
        self.lengths.clear()
        self.lengths.extend(state["lengths"])


def seed_all(seed: int) -> None:
    """Seed every process-wide generator, so a run's checkpoints are a function of its seed alone."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def rng_states() -> dict[str, Any]:
    """The process-wide generators a training step may draw from (torch's draws actions and minibatches)."""
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}


def set_rng_states(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])


def training_state(env: Any, stats: EpisodeStats | None) -> dict[str, Any]:
    """What a checkpoint carries beside the learner so a resume continues the same training: the env's whole
    mutable state, the episode statistics and every process-wide generator. Saved between iterations only,
    where an uninterrupted run's next iteration would find them."""
    data: dict[str, Any] = {
        "torch_rng": torch.get_rng_state(),
        "rng": rng_states(),
        "env_state": env_state(env),
    }
    if stats is not None:
        data["episodes"] = stats.state_dict()
    return data


def restore_training_state(
    env: Any, stats: EpisodeStats | None, state: dict[str, Any], ckpt: Path | None
) -> None:
    """The env, the episode statistics and the generators as the checkpoint left them. A checkpoint written
    before they were saved resumes the networks and the torch generator only: its worlds start afresh."""
    if "env_state" not in state:
        if "torch_rng" in state:
            torch.set_rng_state(state["torch_rng"])
        console.print(f"[yellow]{ckpt} holds no env state (written by an older robolearn): the worlds, "
                      "curricula and return window start afresh[/]")  # fmt: skip
        return
    try:
        load_env_state(env, state["env_state"])
        if stats is not None:
            stats.load_state_dict(state["episodes"])
    except (SnapshotError, ValueError, KeyError) as exc:
        raise RunError(f"{ckpt}: its env state does not fit the run's env: {exc}") from None
    set_rng_states(state["rng"])


def abort_to_newest_checkpoint(run: Path, spec: setup.RunSpec, env: Any, alg: Any) -> TrainResult:
    """After a second Ctrl-C: the run stands at its newest checkpoint, with an export that matches it."""
    ckpts = list_checkpoints(run)
    if not ckpts:
        console.print(f"[yellow]aborted before the first checkpoint; {run} holds nothing to resume[/]")
        return TrainResult(run, 0, True, None)
    newest = ckpts[-1]
    if not export_is_current(run, newest):  # e.g. a kill between a checkpoint and its export, then a resume
        state = torch.load(newest, map_location=alg.device, weights_only=False)
        alg.load(state, {"student" if "student_state_dict" in state else "actor": True}, strict=True)
        export_run_policy(run, spec, env, alg.get_policy(), newest)
    console.print(f"[yellow]aborted; the run stands at {newest.name} (policy.onnx matches it); "
                  f"resume with: robolearn train --resume {run}[/]")  # fmt: skip
    return TrainResult(run, checkpoint_iteration(newest), True, newest)


def export_is_current(run: Path, ckpt: Path) -> bool:
    """Whether the run's policy.json (written last of the export's files) names `ckpt`."""
    try:
        meta = json.loads((run / "policy.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and meta.get("checkpoint") == str(ckpt.relative_to(run))


def log_row(metrics: Any, writer: Any, row: dict[str, Any], env_steps: int) -> None:
    """One iteration's metrics: a metrics.jsonl line and TensorBoard scalars (finite floats only)."""
    metrics.write(row)
    for key, value in row.items():
        if key != "iteration" and isinstance(value, float) and math.isfinite(value):
            writer.add_scalar(key if "/" in key else f"Train/{key}", value, env_steps)


def finish_run(run: Path, spec: setup.RunSpec, env: Any, actor: Any, save: Any, last_ckpt: Path | None,
               done: int, metrics: Any, interrupted: bool, video: bool) -> TrainResult:  # fmt: skip
    """End of any learner's loop: a final checkpoint if the last one is stale, export, video, summary."""
    if last_ckpt is None or last_ckpt != checkpoint_path(run, done):
        last_ckpt = save(done)
    assert last_ckpt is not None
    metrics.close()
    if not export_is_current(run, last_ckpt):
        export_run_policy(run, spec, env, actor, last_ckpt)
    if interrupted:
        console.print(f"[yellow]stopped at iteration {done}; resume with: robolearn train --resume {run}[/]")
    else:
        onnx = ", policy.onnx" if (run / "policy.onnx").is_file() else ""
        console.print(f"run folder: {run}  (checkpoint {last_ckpt.name}{onnx}, metrics.jsonl)")
    if video and not interrupted:
        record_video(run)
    return TrainResult(run, done, interrupted, last_ckpt)


def record_video(run: Path) -> None:
    """The final policy's video; Ctrl-C skips it (the run's files are already complete)."""
    from robolearn.gl import RenderUnavailable, render_skipped
    from robolearn.policies.evaluate import play_run

    try:
        play_run(run)
    except RenderUnavailable as exc:
        render_skipped("the video", exc)
    except KeyboardInterrupt:
        console.print("[yellow]Ctrl-C: video skipped; the run is complete[/]")


def export_run_policy(run: Path, spec: setup.RunSpec, env: Any, actor: Any, ckpt: Path) -> None:
    from robolearn.sim2real.export import export_policy, policy_metadata

    if getattr(env, "robot", None) is None:
        # A scene of entities only (two hands, items): the deploy contract carries one robot's joint targets,
        # so such a run keeps its checkpoints and writes no policy.onnx (BiDex students export their own).
        return
    meta = policy_metadata(env, spec.task, spec.agent.actor_obs_groups[0])
    meta.checkpoint = str(ckpt.relative_to(run))
    export_policy(actor, meta, run)
