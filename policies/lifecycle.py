"""A training run's life between checkpoints: Ctrl-C handling, and the learner-side state a checkpoint
carries beyond the networks (episode statistics and the logging windows, random generators), so a resumed
run continues the same training instead of a restarted one."""

from __future__ import annotations

import random
import signal
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from rich.console import Console

RETURN_WINDOW = 200
"""Completed episodes averaged for mean_return / mean_episode_length."""

console = Console()


class TrainingAborted(KeyboardInterrupt):
    """The second Ctrl-C: the iteration under way is abandoned (its update may be half applied)."""


class Interrupt:
    """First Ctrl-C: finish the iteration, save, export, exit. Second Ctrl-C: abandon the iteration at once
    (TrainingAborted), except inside `critical()` (a checkpoint or export being written), which finishes
    first, so the files on disk are always whole and the export matches the newest checkpoint."""

    def __init__(self) -> None:
        self.requested = False
        self.aborted = False
        self._critical = 0
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
            return
        if self.aborted or self._critical:
            self.aborted = True
            console.print(
                "[yellow]Ctrl-C: stopping once the checkpoint and export being written are whole[/]"
            )
            return
        self.aborted = True
        raise TrainingAborted

    @contextmanager
    def critical(self) -> Iterator[None]:
        """A section a second Ctrl-C does not cut short (it is noted, and honoured after)."""
        self._critical += 1
        try:
            yield
        finally:
            self._critical -= 1

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
