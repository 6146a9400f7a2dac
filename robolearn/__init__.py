"""robolearn: robot learning on batched MuJoCo."""

__version__ = "0.1.0"
