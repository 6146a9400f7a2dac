"""Retargeting: human demonstrations (mocap, VR, video keypoints) to robot motion clips."""
