"""H-infinity learner config (robolearn.policies.hinf is the learner): PPO's actor plus the disturber, the cost
critic and the Lagrange multiplier. Here, below the tasks, so a task can name it as its training preset."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

from robolearn.rl.ppo import PpoCfg, ppo_fields

DEFAULT_COST_TERMS = {"track_lin_vel_xy": 1.0, "track_ang_vel_z": 1.0}
"""Reward terms whose shortfall from their ideal (unweighted) value is the cost; exp kernels peak at 1."""


@dataclass
class HInfCfg(PpoCfg):
    """PPO (the actor) plus the disturber, the cost critic and the Lagrange multiplier."""

    eta: float = 1.0
    """Disturbance attenuation bound: cost rate allowed per body weight of force (> 0)."""
    disturber: Literal["learned", "random", "off"] = "learned"
    """'learned': the adversary; 'random': forces drawn like an untrained disturber (DR baseline); 'off'."""
    constrained: bool = True
    """Update lambda by dual ascent; False keeps lambda at lambda_init (0: unconstrained adversarial PPO)."""
    effort_penalty: bool = True
    """Disturber reward c - eta*||d||; False rewards it with c alone (a plain adversary)."""
    fall_cost: bool = True
    """Charge a fall the discounted maximum cost forever after (see `fall_cost`); without it a positive cost
    makes falling attractive to the actor once lambda is large, since a terminated episode stops paying."""
    trunk_body: str | None = None
    """Body the force acts on; None uses the task's EnvCfg.base_body."""
    force_max: float = 60.0
    """Upper end of the force-cap curriculum (N)."""
    force_start: float = 10.0
    """Force cap at iteration 0 (N)."""
    force_step: float = 1.0
    """Change of the cap per iteration (N)."""
    curriculum_up: float = 0.3
    """The cap rises while falls per episode-length of experience stay below this ..."""
    curriculum_cost: float = 0.35
    """... and the rollout's cost is below this fraction of its maximum, i.e. the actor already tracks. Gated
    on falls alone, the A1's cap reached 60 N in 60 iterations and the actor learnt to brace, not to walk
    (tracking cost flat at ~60% of its maximum over 370 iterations, measured); 1.0 turns the gate off."""
    curriculum_down: float = 1.0
    """... and falls back while they are above this."""
    hold_steps: int = 4
    """Policy steps a disturber force is held (the disturber decides every hold_steps)."""
    cost_terms: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_COST_TERMS))
    """Reward term -> ideal unweighted value per step."""
    lambda_init: float = 0.0
    lambda_lr: float = 0.02
    """Integral gain of the PID-Lagrangian: the dual-ascent step per unit of violation (per second)."""
    lambda_kp: float = 0.0
    lambda_kd: float = 0.0
    lambda_max: float = 5.0
    disturber_hidden_dims: tuple[int, ...] = (64, 64)
    disturber_learning_rate: float = 1e-3
    disturber_init_std: float = 1.0
    disturber_gamma: float | None = None
    """Discount per disturber decision; None: gamma ** hold_steps (the actor's horizon)."""
    disturber_schedule: str = "adaptive"
    """'adaptive' (KL-driven, like the actor) or 'fixed' learning rate for the disturber."""
    disturber_entropy_coef: float = 0.0
    """No entropy bonus: the effort penalty alone should shape how spread the forces are."""
    disturber_obs_groups: tuple[str, ...] = ("critic",)
    """Privileged groups the disturber sees."""

    @classmethod
    def cpu(cls, **overrides: Any) -> HInfCfg:  # type: ignore[override]
        base = PpoCfg.cpu()
        return replace(cls(**ppo_fields(base)), **overrides)

    def validate(self) -> None:
        """Reject settings that would make the learner meaningless, before anything is built."""
        if not self.eta > 0:
            raise ValueError(f"hinf: eta must be > 0 (the H-infinity bound), got {self.eta}")
        if self.force_max < 0 or self.force_start < 0:
            raise ValueError(
                f"hinf: force caps must be >= 0 N, got force_max={self.force_max}, force_start={self.force_start}"
            )
        if self.hold_steps < 1 or self.num_steps_per_env % self.hold_steps:
            raise ValueError(
                f"hinf: hold_steps ({self.hold_steps}) must be >= 1 and divide num_steps_per_env "
                f"({self.num_steps_per_env})"
            )
        if self.lambda_init < 0 or self.lambda_max < self.lambda_init:
            raise ValueError(
                f"hinf: need 0 <= lambda_init <= lambda_max, got {self.lambda_init}, {self.lambda_max}"
            )
        if not self.cost_terms:
            raise ValueError("hinf: cost_terms is empty; name the reward terms whose loss is the cost")

    def to_rsl_rl(self, device: str = "cpu") -> dict[str, Any]:
        cfg = super().to_rsl_rl(device)
        # rsl_rl resolves the algorithm by name: the learner stays out of the core's imports.
        cfg["algorithm"]["class_name"] = "robolearn.policies.hinf:HInfPPO"
        cfg["algorithm"]["lagrangian_cfg"] = {
            "lambda_init": self.lambda_init,
            "kp": self.lambda_kp,
            "ki": self.lambda_lr,
            "kd": self.lambda_kd,
            "lambda_max": self.lambda_max,
            "enabled": self.constrained,
        }
        return cfg

    def disturber_rsl_rl(self) -> dict[str, Any]:
        """The disturber's own rsl_rl PPO config: one transition per held force."""
        groups = list(self.disturber_obs_groups)
        return {
            "num_steps_per_env": self.num_steps_per_env // self.hold_steps,
            "obs_groups": {"actor": groups, "critic": groups},
            "actor": {
                "class_name": "rsl_rl.models:MLPModel",
                "hidden_dims": list(self.disturber_hidden_dims),
                "activation": self.activation,
                "obs_normalization": True,
                "distribution_cfg": {
                    "class_name": "rsl_rl.modules.distribution:GaussianDistribution",
                    "init_std": self.disturber_init_std,
                },
            },
            "critic": {
                "class_name": "rsl_rl.models:MLPModel",
                "hidden_dims": list(self.disturber_hidden_dims),
                "activation": self.activation,
                "obs_normalization": True,
            },
            "algorithm": {
                "class_name": "rsl_rl.algorithms:PPO",
                "num_learning_epochs": self.num_learning_epochs,
                "num_mini_batches": self.num_mini_batches,
                "clip_param": self.clip_param,
                # One disturber step spans hold_steps env steps: discount per decision accordingly.
                "gamma": self.gamma**self.hold_steps
                if self.disturber_gamma is None
                else self.disturber_gamma,
                "lam": self.lam**self.hold_steps,
                "value_loss_coef": self.value_loss_coef,
                "entropy_coef": self.disturber_entropy_coef,
                "learning_rate": self.disturber_learning_rate,
                "max_grad_norm": self.max_grad_norm,
                "schedule": self.disturber_schedule,
                "desired_kl": self.desired_kl,
            },
            "multi_gpu": None,
        }
