"""Demonstration datasets (LeRobot v3 layout): `DatasetWriter` appends episodes, `LeRobotDataset` reads them."""

from robolearn.policies.data.lerobot import CODEBASE_VERSION, DatasetWriter, read_parquet
from robolearn.policies.data.reader import LeRobotDataset
from robolearn.policies.data.validate import DatasetError, check_matches, check_tasks

__all__ = [
    "CODEBASE_VERSION", "DatasetError", "DatasetWriter", "LeRobotDataset", "check_matches", "check_tasks",
    "read_parquet",
]  # fmt: skip
