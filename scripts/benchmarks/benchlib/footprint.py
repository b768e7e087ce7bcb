# Copyright 2026 face_perception maintainers
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""
Disk footprint of a runtime-only install (what the node needs, no TensorFlow).

Two ways, both reported when available:

* ``metadata``: in the current venv, the distributions named in requirements/runtime.txt
  plus everything they require (extras and markers honoured), each sized from its installed
  file list (RECORD), plus the interface packages our setup builds into the venv
  (face_perception_msgs, vision_msgs: their libraries, Python modules and share files).
* ``venv``: ``du`` of a real runtime-only venv given with --runtime-venv (created with
  ``python -m venv DIR && DIR/bin/pip install -r requirements/runtime.txt``); it lacks our
  interfaces, so their size from the current venv is added.
"""
from __future__ import annotations

import importlib.metadata as metadata
import os
from pathlib import Path
import re
import sys
from typing import Any

from benchlib.common import REPO_ROOT

INTERFACE_PACKAGES = ("face_perception_msgs", "vision_msgs")


def _requirement_class():
    try:
        from packaging.requirements import Requirement
    except ImportError:  # pip always vendors it
        from pip._vendor.packaging.requirements import Requirement
    return Requirement


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_requirements(path: Path) -> list[str]:
    lines = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            lines.append(line)
    return lines


def dependency_closure(requirements: list[str]) -> dict[str, metadata.Distribution]:
    """Installed distributions needed by ``requirements`` (canonical name -> distribution)."""
    Requirement = _requirement_class()
    installed = {_canonical(d.metadata["Name"]): d for d in metadata.distributions()}
    closure: dict[str, metadata.Distribution] = {}
    pending = [(Requirement(text), ()) for text in requirements]
    seen: set[tuple[str, tuple[str, ...]]] = set()
    while pending:
        requirement, parent_extras = pending.pop()
        name = _canonical(requirement.name)
        extras = tuple(sorted(requirement.extras))
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        dist = installed.get(name)
        if dist is None:
            continue  # not installed here (e.g. a marker-excluded platform package)
        closure[name] = dist
        for text in dist.requires or []:
            child = Requirement(text)
            environments = [{"extra": extra} for extra in extras] or [{"extra": ""}]
            if child.marker is None or any(child.marker.evaluate(env) for env in environments):
                pending.append((child, extras))
    return closure


def distribution_files(dist: metadata.Distribution) -> set[Path]:
    files = set()
    for item in dist.files or []:
        path = Path(dist.locate_file(item)).resolve()
        if path.is_file():
            files.add(path)
    return files


def interface_files(prefix: Path) -> dict[str, set[Path]]:
    """Files of our built interface packages in a merged-install venv prefix."""
    site = next(iter((prefix / "lib").glob("python3*/site-packages")), None)
    result = {}
    for package in INTERFACE_PACKAGES:
        roots = [prefix / "share" / package, prefix / "include" / package]
        if site is not None:
            roots.append(site / package)
        files = {p.resolve() for p in (prefix / "lib").glob(f"lib{package}__*.so*") if p.is_file()}
        for root in roots:
            if root.is_dir():
                files.update(p.resolve() for p in root.rglob("*") if p.is_file())
        result[package] = files
    return result


def _size_mb(files: set[Path]) -> float:
    return sum(os.path.getsize(p) for p in files) / 2**20


def metadata_footprint(requirements_file: Path = REPO_ROOT / "requirements" / "runtime.txt") -> dict[str, Any]:
    closure = dependency_closure(read_requirements(requirements_file))
    counted: set[Path] = set()
    sizes: dict[str, float] = {}
    for name, dist in closure.items():
        files = distribution_files(dist) - counted
        counted |= files
        sizes[name] = _size_mb(files)
    for package, files in interface_files(Path(sys.prefix)).items():
        files -= counted
        counted |= files
        sizes[f"{package} (built interface)"] = _size_mb(files)
    total = sum(sizes.values())
    return {
        "method": "metadata closure of requirements/runtime.txt in " + sys.prefix,
        "distributions": len(closure),
        "total_mb": total,
        "largest": sorted(sizes.items(), key=lambda item: item[1], reverse=True),
    }


def du_mb(path: Path) -> float:
    total = 0
    seen: set[tuple[int, int]] = set()
    for root, _dirs, files in os.walk(path):
        for name in files:
            stat = os.lstat(os.path.join(root, name))
            if (stat.st_dev, stat.st_ino) not in seen:
                seen.add((stat.st_dev, stat.st_ino))
                total += stat.st_blocks * 512
    return total / 2**20


def venv_footprint(venv: Path) -> dict[str, Any]:
    """Measure the du of a real runtime-only venv, with its largest site-packages entries and lib/ files."""
    site = next(iter((venv / "lib").glob("python3*/site-packages")), None)
    entries: dict[str, float] = {}
    if site is not None:
        for child in site.iterdir():
            entries[f"site-packages/{child.name}"] = (du_mb(child) if child.is_dir()
                                                      else os.lstat(child).st_blocks * 512 / 2**20)
    entries["lib/*.so (ROS C libraries)"] = sum(
        os.lstat(p).st_blocks * 512 for p in (venv / "lib").glob("*.so*")) / 2**20
    for other in ("share", "include", "bin"):
        if (venv / other).is_dir():
            entries[other] = du_mb(venv / other)
    interfaces = _size_mb(set().union(*interface_files(Path(sys.prefix)).values()))
    if any((venv / "share" / package).is_dir() for package in INTERFACE_PACKAGES):
        interfaces = 0.0  # already inside the measured venv
    total = du_mb(venv)
    return {
        "method": f"du of {venv} (+ our built interfaces from {sys.prefix})",
        "venv_mb": total,
        "interfaces_mb": interfaces,
        "total_mb": total + interfaces,
        "largest": sorted(entries.items(), key=lambda item: item[1], reverse=True)[:15],
    }
