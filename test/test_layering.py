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
The package's layers import strictly downward, floor by floor: LAYERS, lowest first.

Every module under face_perception/ is parsed with ``ast`` (nothing is imported, so a ROS-less
machine checks the ROS layer too). Each of its imports of a face_perception module, wherever it
stands (top level, inside a function, under TYPE_CHECKING), must name a module of its own
sub-package or of a floor below it. A floor may hold several sibling sub-packages: they must not
import each other either. The top-level modules (parameters) are the shared ground floor.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import REPO_ROOT

PACKAGE = "face_perception"
Floors = tuple[str | tuple[str, ...], ...]
# Lowest first; "" = the modules directly in face_perception/ (shared helpers). A tuple is one floor
# of sibling sub-packages that may import the floors below but not each other.
LAYERS: Floors = ("", "detection", "tracking", ("classification", "geometry", "identity", "interaction"), "pipeline",
                  "ros", "bringup")


def floor_of(layers: Floors) -> dict[str, int]:
    """Return each sub-package's (and the shared ground's "") floor: its index in ``layers``."""
    return {name: index for index, floor in enumerate(layers)
            for name in (floor if isinstance(floor, tuple) else (floor,))}


def module_name(path: Path, root: Path) -> str:
    """Return the dotted name of a module file under ``root`` (the folder holding the package)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer(module: str, layers: Floors = LAYERS) -> str:
    """Return the layer of a face_perception module: its sub-package, or "" for a top-level module."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in floor_of(layers)) else ""


def imported_modules(path: Path, root: Path) -> list[tuple[int, str]]:
    """Return (line, module) for every face_perception module the file imports, relative imports resolved."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # "from face_perception import ros" imports the sub-package ros: its layer counts.
            found += [(node.lineno, f"{base}.{alias.name}" if base == PACKAGE else base) for alias in node.names]
    return [(line, module) for line, module in found if module == PACKAGE or module.startswith(PACKAGE + ".")]


def upward_imports(root: Path, layers: Floors = LAYERS) -> list[str]:
    """Return one line per import into a higher floor or a sibling on the same floor, under ``root``/face_perception."""
    floors = floor_of(layers)
    problems = []
    for path in sorted((root / PACKAGE).rglob("*.py")):
        importer = layer(module_name(path, root), layers)
        for line, module in imported_modules(path, root):
            imported = layer(module, layers)
            # A sub-package outside LAYERS fails test_every_sub_package_is_a_layer instead.
            if imported == importer or not {importer, imported} <= floors.keys():
                continue
            if floors[imported] > floors[importer]:
                where = "above it"
            elif floors[imported] == floors[importer]:
                where = "beside it on the same floor"
            else:
                continue
            problems.append(f"{path.relative_to(root)}:{line}: layer '{importer or 'shared'}' imports {module} "
                            f"(layer '{imported}', {where})")
    return problems


def unplaced_packages(root: Path, layers: Floors = LAYERS) -> list[str]:
    """Return the sub-packages of face_perception that have no place in ``layers`` (or nest deeper)."""
    floors = floor_of(layers)
    packages = {module_name(init, root) for init in (root / PACKAGE).rglob("__init__.py")} - {PACKAGE}
    return sorted(name for name in packages if name.count(".") != 1 or name.split(".")[1] not in floors)


def test_layers_import_only_downward() -> None:
    assert upward_imports(REPO_ROOT) == []


def test_every_sub_package_is_a_layer() -> None:
    assert unplaced_packages(REPO_ROOT) == []
    for name in sorted(floor_of(LAYERS).keys() - {""}):
        assert (REPO_ROOT / PACKAGE / name / "__init__.py").is_file(), name


# The self-tests' own floors, fixed so that they check the checker whatever LAYERS holds.
TREE_LAYERS: Floors = ("", "detection", "tracking", ("classification", "geometry", "identity"), "pipeline",
                       "ros", "bringup")


def _write(root: Path, relative: str, text: str = "") -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """Return a small face_perception tree, laid out as TREE_LAYERS, whose imports all run downward."""
    for name in floor_of(TREE_LAYERS).keys() - {""}:
        _write(tmp_path, f"{PACKAGE}/{name}/__init__.py")
    _write(tmp_path, f"{PACKAGE}/__init__.py")
    _write(tmp_path, f"{PACKAGE}/parameters.py")
    _write(tmp_path, f"{PACKAGE}/detection/detection.py", "from face_perception.parameters import X\n")
    _write(tmp_path, f"{PACKAGE}/tracking/tracking.py", "from face_perception.detection.detection import box\n")
    _write(tmp_path, f"{PACKAGE}/classification/framing.py", "from face_perception.detection import detection\n")
    _write(tmp_path, f"{PACKAGE}/classification/model.py", "from .framing import F\n")
    _write(tmp_path, f"{PACKAGE}/geometry/head_pose.py", "from face_perception.detection.detection import K\n")
    _write(tmp_path, f"{PACKAGE}/identity/worker.py", "from face_perception.tracking.tracking import T\n")
    _write(tmp_path, f"{PACKAGE}/pipeline/pipeline.py",
           "from face_perception.classification import framing\nfrom face_perception.geometry import head_pose\n"
           "from face_perception.identity.worker import W\n")
    _write(tmp_path, f"{PACKAGE}/ros/node.py", "import face_perception.pipeline.pipeline\nfrom . import other\n")
    _write(tmp_path, f"{PACKAGE}/bringup/demo.py", "from face_perception.ros.node import main\n")
    return tmp_path


def test_downward_tree_passes(tree: Path) -> None:
    assert upward_imports(tree, TREE_LAYERS) == [] and unplaced_packages(tree, TREE_LAYERS) == []


@pytest.mark.parametrize(("relative", "text", "imported"), [
    # In a function body, as the lazy imports of the ROS-only or LiteRT-only paths are.
    ("detection/keypoints.py", "def f():\n    from face_perception.classification.framing import F\n",
     "face_perception.classification.framing"),
    # Only for type hints: still an arrow that runs back up.
    ("pipeline/pipeline.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
     "    from face_perception.ros import hri_output\n", "face_perception.ros"),
    ("ros/node.py", "from face_perception import bringup\n", "face_perception.bringup"),
    ("ros/node.py", "from ..bringup.graph import describe_graph\n", "face_perception.bringup.graph"),
    ("parameters.py", "import face_perception.detection.detection\n", "face_perception.detection.detection"),
    ("tracking/tracking.py", "from face_perception.identity import worker\n", "face_perception.identity"),
    ("identity/worker.py", "from face_perception.pipeline.pipeline import P\n", "face_perception.pipeline.pipeline"),
])
def test_upward_import_is_reported(tree: Path, relative: str, text: str, imported: str) -> None:
    _write(tree, f"{PACKAGE}/{relative}", text)
    problems = upward_imports(tree, TREE_LAYERS)
    assert len(problems) == 1 and f"imports {imported} " in problems[0] and "above it" in problems[0], problems
    assert problems[0].startswith(f"{PACKAGE}/{relative}:")


@pytest.mark.parametrize(("relative", "text", "imported"), [
    ("identity/worker.py", "from face_perception.classification.framing import F\n",
     "face_perception.classification.framing"),
    ("geometry/gaze.py", "import face_perception.identity.worker\n", "face_perception.identity.worker"),
    # Relative, in a function body: still a sibling.
    ("classification/model.py", "def f():\n    from ..geometry import head_pose\n", "face_perception.geometry"),
    ("classification/model.py", "from face_perception import identity\n", "face_perception.identity"),
])
def test_sideways_import_is_reported(tree: Path, relative: str, text: str, imported: str) -> None:
    _write(tree, f"{PACKAGE}/{relative}", text)
    problems = upward_imports(tree, TREE_LAYERS)
    assert len(problems) == 1 and f"imports {imported} " in problems[0], problems
    assert problems[0].startswith(f"{PACKAGE}/{relative}:") and "beside it on the same floor" in problems[0]


def test_sub_package_without_a_layer_is_reported(tree: Path) -> None:
    _write(tree, f"{PACKAGE}/utils/__init__.py")
    _write(tree, f"{PACKAGE}/ros/inner/__init__.py")
    _write(tree, f"{PACKAGE}/attributes/__init__.py")
    assert unplaced_packages(tree, TREE_LAYERS) == [f"{PACKAGE}.attributes", f"{PACKAGE}.ros.inner",
                                                    f"{PACKAGE}.utils"]
