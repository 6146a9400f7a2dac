"""robolearn: robot learning on batched MuJoCo.

Importing it sets nothing: MuJoCo's offscreen GL is chosen when rendering starts (robolearn.gl).
"""

__version__ = "0.1.0"
