"""One distribution, one namespace: top-level folders of the design card become robolearn.* subpackages.

pyproject.toml holds the metadata; this file only computes the package list, so that a new
subfolder (e.g. envs/humanoid) is picked up without editing a hand-kept list.
"""

from setuptools import find_packages, setup

PACKAGE_DIRS = {
    "robolearn": "robolearn",
    "robolearn.envs": "envs",
    "robolearn.policies": "policies",
    "robolearn.retarget": "retarget",
    "robolearn.sim2real": "sim2real",
    "robolearn.assets": "assets",
}

packages = []
for package, folder in PACKAGE_DIRS.items():
    packages.append(package)
    packages += [f"{package}.{sub}" for sub in find_packages(folder)]

setup(packages=packages, package_dir=PACKAGE_DIRS)
