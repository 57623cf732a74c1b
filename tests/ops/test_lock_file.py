"""Reproducible installs: uv.lock is what make, CI and the image install from, it matches
pyproject.toml, and every dependency range has an upper bound (a new major release, like
redis-py 8, must not change behaviour under the project unannounced)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

# Reads files and settings only: CI runs it once, in the SQLite run.
pytestmark = pytest.mark.backend_independent

ROOT = Path(__file__).resolve().parents[2]


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _declared() -> list[Requirement]:
    project = _pyproject()["project"]
    extras = [req for group in project["optional-dependencies"].values() for req in group]
    return [Requirement(req) for req in [*project["dependencies"], *extras]]


def _normalise(requirement: Requirement | dict) -> tuple[str, str, tuple[str, ...]]:
    if isinstance(requirement, Requirement):
        name, spec, extras = requirement.name, str(requirement.specifier), requirement.extras
    else:
        name, spec, extras = (
            requirement["name"],
            requirement.get("specifier", ""),
            requirement.get("extras", ()),
        )
    canonical = ",".join(sorted(spec.replace(" ", "").split(","))) if spec else ""
    return re.sub(r"[-_.]+", "-", name).lower(), canonical, tuple(sorted(extras))


def test_every_dependency_range_has_an_upper_bound():
    unbounded = [
        str(req)
        for req in _declared()
        if not any(s.operator in ("<", "<=", "==", "~=") for s in req.specifier)
    ]
    assert unbounded == []


def test_the_lock_records_exactly_the_ranges_of_pyproject():
    """The same comparison `uv lock --locked` starts with: edit pyproject.toml without `make lock`
    and this fails (so does CI's `make lock-check`, and the installs, which use --locked)."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    root = next(package for package in lock["package"] if package["name"] == "missioncontrol")
    locked = sorted(_normalise(req) for req in root["metadata"]["requires-dist"])
    assert locked == sorted(_normalise(req) for req in _declared())


def test_make_ci_and_the_image_install_from_the_lock():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"\$\(UV\) sync --locked\b", makefile)
    assert "pip install -q '.[dev]'" not in makefile
    assert "make lock-check" in (ROOT / ".ci" / "run").read_text()
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "COPY pyproject.toml uv.lock" in dockerfile and "uv sync --locked" in dockerfile
    assert "pip install ." not in dockerfile


@pytest.mark.skipif(
    not (ROOT / ".tools" / "bin" / "uv").exists() and not shutil.which("uv"),
    reason="uv is installed by `make venv` into .tools/",
)
def test_uv_agrees_the_lock_is_current():
    uv = (
        str(ROOT / ".tools" / "bin" / "uv")
        if (ROOT / ".tools" / "bin" / "uv").exists()
        else shutil.which("uv")
    )
    result = subprocess.run(
        [uv, "lock", "--locked", "--offline"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
