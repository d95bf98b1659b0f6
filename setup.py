"""Only what pyproject.toml cannot say: the top-level resources/ folder ships inside the package as
livemoments_app/_resources (found at run time by livemoments_app.resources.resources_dir())."""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["livemoments_app*"]) + ["livemoments_app._resources"],
    package_dir={"livemoments_app._resources": "resources"},
)
