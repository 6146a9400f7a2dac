"""Training on several processes with torch.distributed, as rsl-rl-lib's multi-GPU support does it.

Each rank steps its own batch of worlds (seeded `seed + rank`) and its own learner copy; rsl_rl all-reduces
the gradients (`multi_gpu_cfg`), the observation normalizers and the adaptive learning rate, so the
parameters stay identical. Rank 0 alone writes the run folder: config.yaml, metrics, TensorBoard, checkpoints
and the export, the same files a single process writes. A checkpoint holds every rank's worlds and
generators, so a resume on the same number of processes continues each rank where it stopped.

`robolearn train ... --nproc N` spawns the N processes through torch's elastic launcher (what `torchrun`
runs); `torchrun --nproc-per-node N -m robolearn.cli train ...` on one or several nodes works the same,
because a rank is recognised by torchrun's environment (WORLD_SIZE, RANK, LOCAL_RANK).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import torch
import torch.distributed as dist

from robolearn.policies.runs import RunError
from robolearn.policies.setup import TRAINED_BY_PPO_LOOP

if TYPE_CHECKING:
    from robolearn.policies.cli import TrainArgs
    from robolearn.policies.lifecycle import TrainResult
    from robolearn.policies.setup import RunSpec

T = TypeVar("T")
PPO_LOOP = TRAINED_BY_PPO_LOOP
"""The learners that train distributed: the PPO loop's, whose rsl_rl algorithms all-reduce; H-infinity's own
loop and SB3 do not."""


@dataclass(frozen=True)
class Ranks:
    """This process's place among the learners (one process: rank 0 of 1)."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def main(self) -> bool:
        """The rank that writes the run folder."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def rsl_rl_cfg(self) -> dict[str, int] | None:
        """rsl_rl's `multi_gpu` entry (None: one process)."""
        if not self.distributed:
            return None
        return {"global_rank": self.rank, "local_rank": self.local_rank, "world_size": self.world_size}


SINGLE = Ranks()


def _env_int(name: str, default: str) -> int:
    value = os.environ.get(name, default)
    try:
        return int(value)
    except ValueError:
        raise RunError(f"environment variable {name}={value!r}: expected an integer (set by torchrun)") from None


def ranks_from_environment() -> Ranks:
    """The rank torchrun (or `--nproc`) started this process as, from WORLD_SIZE / RANK / LOCAL_RANK."""
    ranks = Ranks(_env_int("RANK", "0"), _env_int("LOCAL_RANK", "0"), _env_int("WORLD_SIZE", "1"))
    if ranks.world_size < 1 or not 0 <= ranks.rank < ranks.world_size:
        raise RunError(f"RANK={ranks.rank} WORLD_SIZE={ranks.world_size}: expected 0 <= RANK < WORLD_SIZE")
    return ranks


def backend_for(device: str) -> str:
    """NCCL between GPUs; gloo between CPU processes (NCCL has no CPU tensors)."""
    return "nccl" if device.startswith("cuda") else "gloo"


def rank_device(device: str, ranks: Ranks) -> str:
    """A rank's torch device: its own GPU (cuda:LOCAL_RANK) when training on GPUs, else the one given."""
    if ranks.distributed and device.startswith("cuda"):
        return f"cuda:{ranks.local_rank}"
    return device


def init(ranks: Ranks, device: str) -> None:
    """Join the process group (MASTER_ADDR / MASTER_PORT from the launcher's environment)."""
    if not ranks.distributed or dist.is_initialized():
        return
    if device.startswith("cuda"):
        if torch.cuda.device_count() <= ranks.local_rank:
            raise RunError(f"rank {ranks.rank} wants cuda:{ranks.local_rank}, this node has "
                           f"{torch.cuda.device_count()} GPUs: start at most that many processes per node")  # fmt: skip
        torch.cuda.set_device(ranks.local_rank)
    dist.init_process_group(backend_for(device), rank=ranks.rank, world_size=ranks.world_size)


def shutdown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def share_from_main(ranks: Ranks, make: Callable[[], T]) -> T:
    """Rank 0's `make()` on every rank (e.g. the resolved run folder and config). An error on rank 0 is raised
    on every rank with its message, so no rank waits for a broadcast that never comes."""
    if not ranks.distributed:
        return make()
    box: list[Any] = [None]
    if ranks.main:
        try:
            box[0] = ("ok", make())
        except Exception as exc:  # any error: the other ranks are waiting on this broadcast
            box[0] = ("error", exc)
    dist.broadcast_object_list(box, src=0)
    status, value = box[0]
    if status == "error":
        raise value
    return value


def gather_to_main(ranks: Ranks, obj: Any) -> list[Any] | None:
    """Every rank's `obj` on rank 0 (rank order), None on the others."""
    if not ranks.distributed:
        return [obj]
    out: list[Any] | None = [None] * ranks.world_size if ranks.main else None
    dist.gather_object(obj, out, dst=0)
    return out


def any_rank(ranks: Ranks, *flags: bool) -> tuple[bool, ...]:
    """Each flag true on any rank: every rank then takes the same branch (save, stop) and reaches the same
    collectives; a Ctrl-C or time limit seen by one rank alone would leave the others waiting."""
    if not ranks.distributed:
        return flags
    t = torch.tensor([float(f) for f in flags])
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return tuple(bool(v) for v in t.tolist())


def pooled_mean(ranks: Ranks, values: Iterable[float]) -> float:
    """The mean of every rank's values (e.g. each rank's window of episode returns)."""
    vals = list(values)
    t = torch.tensor([float(sum(vals)), float(len(vals))], dtype=torch.float64)
    if ranks.distributed:
        dist.all_reduce(t)
    return float(t[0] / t[1]) if t[1] > 0 else float("nan")


def state_digest(state: Any) -> str:
    """sha256 of every tensor in a (nested) state dict, in key order: equal digests, equal parameters."""
    h = hashlib.sha256()

    def walk(x: Any) -> None:
        if isinstance(x, torch.Tensor):
            h.update(x.detach().cpu().contiguous().numpy().tobytes())
        elif isinstance(x, dict):
            for key in sorted(x, key=str):
                h.update(str(key).encode())
                walk(x[key])
        elif isinstance(x, list | tuple):
            for item in x:
                walk(item)
        elif isinstance(x, int | float | bool):
            h.update(repr(x).encode())

    walk(state)
    return h.hexdigest()


def learner_digest(learner_state: dict[str, Any]) -> str:
    """Digest of a learner's networks and optimizer (`alg.save()`'s state dicts)."""
    return state_digest({k: v for k, v in learner_state.items() if k.endswith("state_dict")})


def check_in_sync(digests: list[str]) -> None:
    """Rank 0's check at every checkpoint: identical learners on every rank, or the run stops loudly
    (a rank that drifted would train on gradients the others never saw)."""
    for rank, digest in enumerate(digests):
        if digest != digests[0]:
            raise RunError(f"rank {rank}'s parameters differ from rank 0's (sha256 {digest[:12]} vs "
                           f"{digests[0][:12]}): the gradient all-reduce is not reaching every rank")  # fmt: skip


def rank_state(state: dict[str, Any], ranks: Ranks, ckpt: Any) -> dict[str, Any]:
    """The part of a checkpoint one rank resumes from: rank 0's worlds and generators are the checkpoint's
    own (single-process tools read it unchanged), rank r's are under `ranks`[r - 1]."""
    saved = int(state.get("world_size", 1))
    if saved != ranks.world_size:
        raise RunError(f"{ckpt} was written by {saved} training processes; resume it with --nproc {saved} "
                       f"(this start has {ranks.world_size})")  # fmt: skip
    if ranks.rank == 0:
        return state
    return {**state, **state["ranks"][ranks.rank - 1]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def launch(nproc: int, entry: Callable[..., T], *args: Any) -> list[T]:
    """`entry(*args)` on `nproc` local processes started as torchrun starts them (its elastic launcher,
    rendezvous on a free local port); their return values in rank order. A rank that raises fails the launch
    with torch's report of its traceback."""
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    config = LaunchConfig(
        min_nodes=1, max_nodes=1, nproc_per_node=nproc, run_id=uuid.uuid4().hex, rdzv_backend="c10d",
        rdzv_endpoint=f"127.0.0.1:{free_port()}", max_restarts=0, monitor_interval=0.2,
    )  # fmt: skip
    results = elastic_launch(config, entry)(*args)
    return [results[rank] for rank in range(nproc)]


# -- `robolearn train` on ranks (train.train dispatches here; its functions are imported where called, as
# this module sits under train.py) ----------------------------------------------------------------------


def train_rank(args: TrainArgs, ranks: Ranks) -> TrainResult:
    """This process's rank of a distributed run: join the group, take rank 0's resolved run, train."""
    from robolearn.policies.train import train_ppo

    init(ranks, args.device)
    try:
        spec, run, state, ckpt = share_from_main(ranks, lambda: _resolve_on_main(args))
        if state is not None:
            state = rank_state(state, ranks, ckpt)
        time_limit = args.time_limit_min * 60.0 if args.time_limit_min else None
        return train_ppo(spec, run, state, ckpt, video=args.video and ranks.main, time_limit_s=time_limit,
                         init_from=args.init_from, ranks=ranks)  # fmt: skip
    finally:
        shutdown()


def _resolve_on_main(args: TrainArgs) -> tuple[RunSpec, Path, dict[str, Any] | None, Path | None]:
    """resolve_spec on rank 0, refusing the learners that have no all-reduce (no run folder left behind)."""
    from robolearn.policies.train import resolve_spec

    spec, run, state, ckpt = resolve_spec(args)
    if spec.algo not in PPO_LOOP:
        if state is None:
            shutil.rmtree(run)
        _refuse_algo(spec.algo)
    return spec, run, state, ckpt


def _refuse_algo(algo: str) -> None:
    raise RunError(f"--nproc / torchrun trains the PPO-loop learners ({', '.join(PPO_LOOP)}); "
                   f"--algo {algo} runs in one process")  # fmt: skip


def _rank_main(args: TrainArgs) -> tuple[str, Any]:
    """One rank of `--nproc`: its result, or the message of a run error (the launcher would otherwise
    report it as a crashed child with a traceback)."""
    from robolearn.policies.train import train

    try:
        return "ok", train(replace(args, nproc=1))
    except (RunError, ValueError, FileNotFoundError, KeyError) as exc:
        return "error", str(exc.args[0] if isinstance(exc, KeyError) and exc.args else exc)


def launch_train(args: TrainArgs) -> TrainResult:
    """`--nproc N`: N ranks on this machine; rank 0's result. Flags that cannot work fail before any
    process starts."""
    if args.nproc < 1:
        raise RunError(f"--nproc {args.nproc}: expected 1 or more training processes")
    if "WORLD_SIZE" in os.environ:
        raise RunError("--nproc under torchrun: torchrun's --nproc-per-node starts the processes; drop --nproc")
    if args.algo is not None and args.algo not in PPO_LOOP:
        _refuse_algo(args.algo)
    if args.task is not None:
        from robolearn.registry import get_task

        get_task(args.task)  # an unknown task: the error lists the valid ones
    results = launch(args.nproc, _rank_main, args)
    for status, value in results:
        if status == "error":
            raise RunError(value)
    return results[0][1]
