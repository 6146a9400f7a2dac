"""Teacher-student distillation's learner config (robolearn.policies.distill is the learner)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from robolearn.rl.ppo import PpoCfg

STUDENT_GROUP = "student"


@dataclass
class DistillCfg(PpoCfg):
    """The student's learner. Inherited PPO fields that apply: worlds, steps per env, iterations,
    checkpoints, the student's MLP (`actor_hidden_dims`, activation, normalization), threads."""

    teacher: str = ""
    """The teacher's run folder (a PPO run of the same task)."""
    history: int = 5
    """Frames of the student's observation stacked (oldest first)."""
    drop_terms: tuple[str, ...] = ("base_lin_vel",)
    """Teacher policy terms the student does not get."""
    gradient_length: int = 16
    """Timesteps of loss summed per gradient step (epochs x steps per env should divide by it)."""
    loss_type: str = "mse"
    # Filled from the teacher's config.yaml when the run starts, so the run folder rebuilds the teacher.
    teacher_hidden_dims: tuple[int, ...] = ()
    teacher_obs_groups: tuple[str, ...] = ("policy",)
    teacher_activation: str = "elu"

    @classmethod
    def cpu(cls, **overrides: Any) -> DistillCfg:  # type: ignore[override]
        """2-core sizing: the teacher's CPU world count; a student std of 0.1 (Isaac Lab's distillation)
        so the student's own exploration stays near the states it will meet deployed."""
        base = cls(
            num_envs=512, actor_hidden_dims=(128, 128, 128), critic_hidden_dims=(), init_noise_std=0.1,
            num_learning_epochs=2, learning_rate=1e-3, max_iterations=300, save_interval=25, torch_threads=1,
            actor_obs_groups=(STUDENT_GROUP,),
        )  # fmt: skip
        return dataclasses.replace(base, **overrides)

    def to_rsl_rl(self, device: str = "cpu") -> dict[str, Any]:
        def model(hidden: tuple[int, ...], activation: str, std: float) -> dict[str, Any]:
            return {
                "class_name": "rsl_rl.models:MLPModel",
                "hidden_dims": list(hidden),
                "activation": activation,
                "obs_normalization": self.obs_normalization,
                "distribution_cfg": {
                    "class_name": "rsl_rl.modules.distribution:GaussianDistribution",
                    "init_std": std,
                },
            }

        return {
            "num_steps_per_env": self.num_steps_per_env,
            "obs_groups": {"student": list(self.actor_obs_groups), "teacher": list(self.teacher_obs_groups)},
            "student": model(self.actor_hidden_dims, self.activation, self.init_noise_std),
            "teacher": model(self.teacher_hidden_dims, self.teacher_activation, 1.0),
            "algorithm": {
                "class_name": "rsl_rl.algorithms:Distillation",
                "num_learning_epochs": self.num_learning_epochs,
                "gradient_length": self.gradient_length,
                "learning_rate": self.learning_rate,
                "max_grad_norm": self.max_grad_norm,
                "loss_type": self.loss_type,
            },
            "multi_gpu": None,
        }
