"""Frame conventions every velocity term relies on (quaternions w, x, y, z as in MuJoCo)."""

import math

import torch

from robolearn.math import quat_mul, quat_rotate, quat_rotate_inverse, wrap_to_pi, yaw_from_quat, yaw_quat


def test_world_velocity_seen_from_a_robot_turned_left():
    q = yaw_quat(torch.tensor([math.pi / 2]))  # facing world +y
    v_body = quat_rotate_inverse(q, torch.tensor([[1.0, 0.0, 0.0]]))
    torch.testing.assert_close(
        v_body, torch.tensor([[0.0, -1.0, 0.0]]), atol=1e-6, rtol=0
    )  # moving to its right
    torch.testing.assert_close(quat_rotate(q, v_body), torch.tensor([[1.0, 0.0, 0.0]]), atol=1e-6, rtol=0)


def test_yaw_round_trip_and_composition():
    yaws = torch.tensor([-3.0, -1.0, 0.0, 0.5, 3.1])
    torch.testing.assert_close(yaw_from_quat(yaw_quat(yaws)), yaws, atol=1e-6, rtol=0)
    both = quat_mul(yaw_quat(torch.tensor([2.0])), yaw_quat(torch.tensor([2.0])))
    torch.testing.assert_close(yaw_from_quat(both), wrap_to_pi(torch.tensor([4.0])), atol=1e-6, rtol=0)
