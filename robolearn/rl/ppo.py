"""PPO's config: a plain dataclass (tyro-friendly), turned into rsl_rl's dict config at the last moment.

`PpoCfg()` is the shared legged recipe (legged_gym / Isaac Lab / mjlab); `PpoCfg.cpu()` is the same
algorithm sized for a 2-core machine, where the physics and the networks share the cores.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass
class PpoCfg:
    """PPO on rsl-rl-lib with an asymmetric actor-critic (the critic may see privileged groups)."""

    num_envs: int | None = None
    """Parallel worlds; None keeps the task's EnvCfg.num_envs."""
    max_iterations: int = 1500
    """Total learning iterations of the run (a resumed run trains up to this many)."""
    num_steps_per_env: int = 24
    save_interval: int = 50
    """Iterations between checkpoints (one is always written at the end)."""
    keep_checkpoints: int = 5
    """Newest checkpoints kept in the run folder, plus the best one (highest mean_return, the training
    return over the last completed episodes); older ones are deleted. 0 keeps every checkpoint. A checkpoint
    with the env's state is ~2.3 MB on Go2-Velocity-Flat (512 worlds): six kept, ~14 MB per run."""
    # Models.
    actor_hidden_dims: tuple[int, ...] = (512, 256, 128)
    critic_hidden_dims: tuple[int, ...] = (512, 256, 128)
    activation: str = "elu"
    init_noise_std: float = 1.0
    obs_normalization: bool = True
    """Empirical mean/std normalization of the inputs (exported inside policy.onnx)."""
    actor_obs_groups: tuple[str, ...] = ("policy",)
    critic_obs_groups: tuple[str, ...] = ("critic",)
    """Env observation groups fed to the critic; ("policy",) gives a symmetric actor-critic."""
    # Algorithm.
    num_learning_epochs: int = 5
    num_mini_batches: int = 4
    learning_rate: float = 1e-3
    schedule: str = "adaptive"
    """'adaptive' (KL-driven) or 'fixed'."""
    desired_kl: float = 0.01
    gamma: float = 0.99
    lam: float = 0.95
    clip_param: float = 0.2
    entropy_coef: float = 0.01
    value_loss_coef: float = 1.0
    max_grad_norm: float = 1.0
    use_clipped_value_loss: bool = True
    torch_threads: int = 0
    """Threads of torch's CPU kernels; 0 uses every core (physics and learning take turns)."""
    update_threads: int = 0
    """Torch threads during the PPO update only; 0 uses every core. The physics threads idle during the
    update, so it can take both cores even when `torch_threads` keeps collection on one."""
    random_initial_episode_length: bool = True
    """A fresh run starts each world at a random point of its episode (Isaac Lab's
    init_at_random_ep_len), so time-outs spread over iterations instead of all arriving at once."""
    bf16_update: bool | Literal["auto"] = False
    """Run the update's forward passes under bfloat16 autocast (rsl_rl's `use_mixed_precision`). On a CPU
    with AVX512-BF16 the 3x128 MLPs' forward and backward take 0.55x the CPU time of float32
    (docs/training-speed.md); parameters, optimizer state and the rollout stay float32. "auto": on when the
    learner is built on a CPU that multiplies bfloat16 natively (`cpu_has_native_bf16`), off elsewhere (a
    GPU's update is not measured with it), so a run resumed on another machine decides again."""
    symmetry: bool = False
    """Append each minibatch's left-right mirror image (rsl_rl's symmetry extension; robolearn.core.symmetry
    builds the mirror from joint names and axes): twice the samples per update for mirror-symmetric robots."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Free-form keys merged into rsl_rl's algorithm config (e.g. symmetry_cfg)."""

    @classmethod
    def cpu(cls, **overrides: Any) -> PpoCfg:
        """Sized for 2 CPU cores: fewer worlds and smaller nets, so iterations are short and frequent.

        Go2 flat on 2 cores: 512 worlds collect at ~12.8k env-steps/s against ~8k with 256 (the physics
        thread pool needs enough worlds per thread), and 128-wide nets keep the update under a second.
        """
        base = cls(
            num_envs=512,
            actor_hidden_dims=(128, 128, 128),
            critic_hidden_dims=(128, 128, 128),
            save_interval=25,
        )
        return dataclasses.replace(base, **overrides)

    def to_rsl_rl(self, device: str = "cpu") -> dict[str, Any]:
        """rsl_rl 5.x runner/algorithm config dict for a learner on `device`."""

        def model(hidden: tuple[int, ...], stochastic: bool) -> dict[str, Any]:
            cfg: dict[str, Any] = {
                "class_name": "rsl_rl.models:MLPModel",
                "hidden_dims": list(hidden),
                "activation": self.activation,
                "obs_normalization": self.obs_normalization,
            }
            if stochastic:
                cfg["distribution_cfg"] = {
                    "class_name": "rsl_rl.modules.distribution:GaussianDistribution",
                    "init_std": self.init_noise_std,
                }
            return cfg

        algorithm = {
            "class_name": "rsl_rl.algorithms:PPO",
            "num_learning_epochs": self.num_learning_epochs,
            "num_mini_batches": self.num_mini_batches,
            "clip_param": self.clip_param,
            "gamma": self.gamma,
            "lam": self.lam,
            "value_loss_coef": self.value_loss_coef,
            "entropy_coef": self.entropy_coef,
            "learning_rate": self.learning_rate,
            "max_grad_norm": self.max_grad_norm,
            "use_clipped_value_loss": self.use_clipped_value_loss,
            "schedule": self.schedule,
            "desired_kl": self.desired_kl,
            "use_mixed_precision": self.bf16_on(device),
            **(
                {
                    "symmetry_cfg": {
                        "use_data_augmentation": True,
                        "use_mirror_loss": False,
                        "data_augmentation_func": "robolearn.core.symmetry:augment",
                    }
                }
                if self.symmetry
                else {}
            ),  # fmt: skip
            **self.extra,
        }
        return {
            "num_steps_per_env": self.num_steps_per_env,
            "obs_groups": {"actor": list(self.actor_obs_groups), "critic": list(self.critic_obs_groups)},
            "actor": model(self.actor_hidden_dims, stochastic=True),
            "critic": model(self.critic_hidden_dims, stochastic=False),
            "algorithm": algorithm,
            "multi_gpu": None,
        }

    def bf16_on(self, device: str = "cpu") -> bool:
        """Whether a learner on `device` runs its update under bfloat16 autocast (`bf16_update` resolved)."""
        if self.bf16_update == "auto":
            return device.split(":")[0] == "cpu" and cpu_has_native_bf16()
        if not isinstance(self.bf16_update, bool):
            raise ValueError(f"bf16_update: expected true, false or 'auto', got {self.bf16_update!r}")
        return self.bf16_update


@functools.cache
def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (x86 AVX512-BF16 or AMX, read from /proc/cpuinfo).
    Without it torch emulates bfloat16 and an autocast update gets slower, not faster."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def ppo_fields(cfg: PpoCfg) -> dict[str, Any]:
    """PPO's own settings of a PPO config or of a subclass (H-infinity, blender): to build another one."""
    return {f.name: getattr(cfg, f.name) for f in dataclasses.fields(PpoCfg)}
