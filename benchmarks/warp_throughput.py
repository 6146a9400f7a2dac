"""Go2-Velocity-Flat env-steps/s on the warp backend vs raw mujoco-warp stepping of the same model.

    python benchmarks/warp_throughput.py                      # 1024/4096/8192 worlds on CUDA
    python benchmarks/warp_throughput.py --worlds 2 4 --steps 3 --allow-cpu   # smoke test, no GPU

The raw figure is the physical limit: the same adapted model, `decimation` x mjw.step per env step,
graph-captured, no env. The ratio env/raw is the cost of everything above the physics.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import torch


def raw_steps_per_s(model, worlds: int, decimation: int, steps: int, device: str) -> float:
    import mujoco
    import mujoco_warp as mjw
    import warp as wp

    from robolearn.sim.warp import _default_njmax, adapt_model_for_warp

    model = adapt_model_for_warp(model)
    data = mujoco.MjData(model)
    mujoco.mj_resetDataKeyframe(model, data, 0) if model.nkey else None
    mujoco.mj_forward(model, data)
    with wp.ScopedDevice(device):
        m = mjw.put_model(model)
        d = mjw.put_data(model, data, nworld=worlds, njmax=_default_njmax(model, data))
        capped = int(mjw.OverflowType.ITERATIONS) | int(mjw.OverflowType.LS_ITERATIONS)
        m.opt.warn_overflow = int(m.opt.warn_overflow) & ~capped  # as the backend does

        def loop() -> None:
            for _ in range(decimation):
                mjw.step(m, d)

        loop()  # compile
        graph = None
        if wp.get_device(device).is_cuda:
            with wp.ScopedCapture() as capture:
                loop()
            graph = capture.graph
        wp.synchronize()
        t0 = time.perf_counter()
        for _ in range(steps):
            wp.capture_launch(graph) if graph is not None else loop()
        wp.synchronize()
    return worlds * steps / (time.perf_counter() - t0)


def env_steps_per_s(worlds: int, steps: int) -> tuple[float, object]:
    import warp as wp

    from robolearn.core.env import ManagerBasedRlEnv
    from robolearn.registry import get_task

    cfg = dataclasses.replace(get_task("Go2-Velocity-Flat").env_cfg(), num_envs=worlds)
    cfg.sim = dataclasses.replace(cfg.sim, backend="warp")
    env = ManagerBasedRlEnv(cfg)
    action = torch.zeros(worlds, env.num_actions, device=env.device)
    env.step(action)  # graph capture, first-use compilation
    wp.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        env.step(action)
    wp.synchronize()
    return worlds * steps / (time.perf_counter() - t0), env


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--worlds", type=int, nargs="+", default=[1024, 4096, 8192])
    parser.add_argument("--steps", type=int, default=100, help="env steps timed per size")
    parser.add_argument(
        "--allow-cpu", action="store_true", help="run on warp's CPU device (slow; for checks)"
    )
    args = parser.parse_args()

    import os

    import warp as wp

    from robolearn.sim.warp import CPU_OPT_IN_ENV

    wp.config.quiet = True
    if wp.get_cuda_device_count() == 0:
        if not args.allow_cpu:
            raise SystemExit(
                "no CUDA device: this benchmark measures the GPU path; pass --allow-cpu to smoke-test it"
            )
        os.environ[CPU_OPT_IN_ENV] = "1"
    device = "cuda:0" if wp.get_cuda_device_count() else "cpu"
    print(f"device: {wp.get_device(device).name} ({device})")
    print(f"{'worlds':>8} {'env steps/s':>14} {'raw steps/s':>14} {'env/raw':>8}")
    for n in args.worlds:
        env_rate, env = env_steps_per_s(n, args.steps)
        raw_rate = raw_steps_per_s(env.scene.model, n, env.cfg.decimation, args.steps, device)  # type: ignore[attr-defined]
        print(f"{n:>8} {env_rate:>14,.0f} {raw_rate:>14,.0f} {env_rate / raw_rate:>8.2f}")


if __name__ == "__main__":
    main()
