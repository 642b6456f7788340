"""Packaging hooks; everything else is in pyproject.toml.

A wheel (and `pip install .`) carries the Alembic migrations and the built dashboard in
`server/_bundled/`, where the server looks first (server/bundled.py), so an installed package
runs without a checkout. The dashboard is built with npm when no build exists yet; an
editable install uses the checkout's folders directly and copies nothing.
"""

import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent
WEB = ROOT / "web"
DIST = WEB / "dist"


def ensure_dashboard_build() -> Path:
    if (DIST / "index.html").is_file():
        return DIST
    npm = shutil.which("npm")
    if npm is None or not (WEB / "package.json").is_file():
        raise SystemExit(
            "the package needs the built dashboard and there is none in web/dist: install "
            "Node.js 20+ (npm), or build it first with: cd web && npm ci && npm run build"
        )
    if not (WEB / "node_modules").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=WEB, check=True)
    subprocess.run([npm, "run", "build"], cwd=WEB, check=True)
    return DIST


class BuildPyWithBundled(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        bundled = Path(self.build_lib) / "server" / "_bundled"
        shutil.rmtree(bundled, ignore_errors=True)
        shutil.copytree(
            ROOT / "migrations",
            bundled / "migrations",
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
        shutil.copytree(ensure_dashboard_build(), bundled / "dashboard")


class SdistWithDashboard(sdist):
    """The source distribution carries the dashboard build too (MANIFEST.in grafts web/dist),
    so a wheel built from it needs no Node.js."""

    def run(self) -> None:
        ensure_dashboard_build()
        super().run()


setup(cmdclass={"build_py": BuildPyWithBundled, "sdist": SdistWithDashboard})
