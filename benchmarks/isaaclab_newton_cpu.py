"""Isaac Lab 3.0's manager-based env on Newton (mujoco-warp) with warp on the CPU: does it run, and how fast.

    <isaaclab venv>/bin/python benchmarks/isaaclab_newton_cpu.py [NUM_ENVS]

Isaac Lab's own tasks load their robots and ground from Omniverse's S3 asset server, which a machine without
internet cannot reach (the Go2 flat task fails in scene creation). This task needs no downloaded asset: a box
floor and a falling cube per world, one observation group, a reward, a time-out and a reset event, through the
same managers, scene cloning and Newton solver an Isaac Lab task uses. Prints timings of the build, the first
steps (warp compiles its CPU kernels; cached under ~/.cache/warp afterwards) and 100 steps.
"""

import sys
import time
import traceback

t0 = time.time()


def log(*a):
    print(f"[{time.time() - t0:7.1f}s]", *a, flush=True)


try:
    import isaaclab.envs.mdp as mdp
    import isaaclab.sim as sim_utils
    import torch
    from isaaclab.assets import AssetBaseCfg, RigidObjectCfg
    from isaaclab.envs import ManagerBasedRLEnv, ManagerBasedRLEnvCfg
    from isaaclab.managers import (
        EventTermCfg as EventTerm,
        ObservationGroupCfg as ObsGroup,
        ObservationTermCfg as ObsTerm,
        RewardTermCfg as RewTerm,
        SceneEntityCfg,
        TerminationTermCfg as DoneTerm,
    )
    from isaaclab.scene import InteractiveSceneCfg
    from isaaclab.sim import SimulationCfg
    from isaaclab.utils import configclass
    from isaaclab_newton.physics import MJWarpSolverCfg, NewtonCfg

    log("imported")

    @configclass
    class SceneCfg(InteractiveSceneCfg):
        floor = AssetBaseCfg(
            prim_path="/World/floor",
            spawn=sim_utils.CuboidCfg(
                size=(40.0, 40.0, 0.2), collision_props=sim_utils.CollisionPropertiesCfg()
            ),
            init_state=AssetBaseCfg.InitialStateCfg(pos=(0.0, 0.0, -0.1)),
        )
        cube = RigidObjectCfg(
            prim_path="{ENV_REGEX_NS}/Cube",
            spawn=sim_utils.CuboidCfg(
                size=(0.2, 0.2, 0.2),
                rigid_props=sim_utils.RigidBodyPropertiesCfg(),
                mass_props=sim_utils.MassPropertiesCfg(mass=1.0),
                collision_props=sim_utils.CollisionPropertiesCfg(),
            ),
            init_state=RigidObjectCfg.InitialStateCfg(pos=(0.0, 0.0, 0.5)),
        )

    @configclass
    class ObsCfg:
        @configclass
        class PolicyCfg(ObsGroup):
            pos = ObsTerm(func=mdp.root_pos_w, params={"asset_cfg": SceneEntityCfg("cube")})
            vel = ObsTerm(func=mdp.base_lin_vel, params={"asset_cfg": SceneEntityCfg("cube")})

        policy: PolicyCfg = PolicyCfg()

    @configclass
    class ActionsCfg:
        pass

    @configclass
    class RewardsCfg:
        alive = RewTerm(func=mdp.is_alive, weight=1.0)

    @configclass
    class DoneCfg:
        time_out = DoneTerm(func=mdp.time_out, time_out=True)

    @configclass
    class EventsCfg:
        reset = EventTerm(
            func=mdp.reset_root_state_uniform,
            mode="reset",
            params={
                "pose_range": {"x": (-0.2, 0.2)},
                "velocity_range": {},
                "asset_cfg": SceneEntityCfg("cube"),
            },
        )

    @configclass
    class CubesEnvCfg(ManagerBasedRLEnvCfg):
        sim: SimulationCfg = SimulationCfg(
            physics=NewtonCfg(solver_cfg=MJWarpSolverCfg(njmax=40, nconmax=20))
        )
        scene: SceneCfg = SceneCfg(num_envs=16, env_spacing=2.0)
        observations: ObsCfg = ObsCfg()
        actions: ActionsCfg = ActionsCfg()
        rewards: RewardsCfg = RewardsCfg()
        terminations: DoneCfg = DoneCfg()
        events: EventsCfg = EventsCfg()

        def __post_init__(self):
            self.decimation = 4
            self.episode_length_s = 5.0
            self.sim.dt = 0.005
            self.sim.device = "cpu"

    cfg = CubesEnvCfg()
    cfg.scene.num_envs = int(sys.argv[1]) if len(sys.argv) > 1 else 16
    env = ManagerBasedRLEnv(cfg)
    log("env built", env.num_envs, env.device)
    obs, _ = env.reset()
    log("reset", {k: tuple(v.shape) for k, v in obs.items()}, obs["policy"][0].tolist())
    act = torch.zeros(env.num_envs, env.action_manager.total_action_dim, device=env.device)
    for _ in range(3):
        env.step(act)
    log("3 warm steps")
    n = 100
    t = time.time()
    for _ in range(n):
        obs, *_ = env.step(act)
    dt = time.time() - t
    log(
        f"{n} env steps x {env.num_envs} envs (decimation 4) in {dt:.2f}s: {n * env.num_envs / dt:.1f} env-steps/s; cube z {obs['policy'][0, 2].item():.3f}"
    )
    env.close()
except BaseException:
    log("FAILED")
    traceback.print_exc()
    sys.exit(1)
