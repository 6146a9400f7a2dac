"""Demonstration datasets (LeRobot v3 layout): `DatasetWriter` appends episodes, `LeRobotDataset` reads them."""

from robolearn.policies.data.lerobot import (
    CODEBASE_VERSION,
    DatasetError,
    DatasetWriter,
    LeRobotDataset,
    read_parquet,
)

__all__ = ["CODEBASE_VERSION", "DatasetError", "DatasetWriter", "LeRobotDataset", "read_parquet"]
