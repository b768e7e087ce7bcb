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
The package's layers import strictly downward: bringup -> ros -> attributes -> detection -> shared.

Every module under face_perception/ is parsed with ``ast`` (nothing is imported, so a ROS-less
machine checks the ROS layer too). Each of its imports of a face_perception module, wherever it
stands (top level, inside a function, under TYPE_CHECKING), must name a module of its own layer
or of one below it. The top-level modules (parameters) are the shared ground floor.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import REPO_ROOT

PACKAGE = "face_perception"
# Lowest first; "" = the modules directly in face_perception/ (shared helpers).
LAYERS = ("", "detection", "attributes", "ros", "bringup")


def module_name(path: Path, root: Path) -> str:
    """Return the dotted name of a module file under ``root`` (the folder holding the package)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer(module: str) -> str:
    """Return the layer of a face_perception module: its sub-package, or "" for a top-level module."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in LAYERS) else ""


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


def upward_imports(root: Path) -> list[str]:
    """Return one line per import from a lower layer into a higher one, under ``root``/face_perception."""
    problems = []
    for path in sorted((root / PACKAGE).rglob("*.py")):
        importer = layer(module_name(path, root))
        for line, module in imported_modules(path, root):
            imported = layer(module)
            # A sub-package outside LAYERS fails test_every_sub_package_is_a_layer instead.
            if {importer, imported} <= set(LAYERS) and LAYERS.index(imported) > LAYERS.index(importer):
                where = path.relative_to(root)
                problems.append(f"{where}:{line}: layer '{importer or 'shared'}' imports {module} "
                                f"(layer '{imported}', above it)")
    return problems


def unplaced_packages(root: Path) -> list[str]:
    """Return the sub-packages of face_perception that have no place in LAYERS (or nest deeper)."""
    packages = {module_name(init, root) for init in (root / PACKAGE).rglob("__init__.py")} - {PACKAGE}
    return sorted(name for name in packages if name.count(".") != 1 or name.split(".")[1] not in LAYERS)


def test_layers_import_only_downward() -> None:
    assert upward_imports(REPO_ROOT) == []


def test_every_sub_package_is_a_layer() -> None:
    assert unplaced_packages(REPO_ROOT) == []
    for name in LAYERS[1:]:
        assert (REPO_ROOT / PACKAGE / name / "__init__.py").is_file(), name


def _write(root: Path, relative: str, text: str = "") -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """Return a small face_perception tree whose imports all run downward."""
    for name in LAYERS[1:]:
        _write(tmp_path, f"{PACKAGE}/{name}/__init__.py")
    _write(tmp_path, f"{PACKAGE}/__init__.py")
    _write(tmp_path, f"{PACKAGE}/parameters.py")
    _write(tmp_path, f"{PACKAGE}/detection/detection.py", "from face_perception.parameters import X\n")
    _write(tmp_path, f"{PACKAGE}/attributes/pipeline.py", "from face_perception.detection import detection\n")
    _write(tmp_path, f"{PACKAGE}/ros/node.py", "import face_perception.attributes.pipeline\nfrom . import other\n")
    _write(tmp_path, f"{PACKAGE}/bringup/demo.py", "from face_perception.ros.node import main\n")
    return tmp_path


def test_downward_tree_passes(tree: Path) -> None:
    assert upward_imports(tree) == [] and unplaced_packages(tree) == []


@pytest.mark.parametrize(("relative", "text", "imported"), [
    # In a function body, as the lazy imports of the ROS-only or LiteRT-only paths are.
    ("detection/keypoints.py", "def f():\n    from face_perception.attributes.framing import F\n",
     "face_perception.attributes.framing"),
    # Only for type hints: still an arrow that runs back up.
    ("attributes/pipeline.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
     "    from face_perception.ros import hri_output\n", "face_perception.ros"),
    ("ros/node.py", "from face_perception import bringup\n", "face_perception.bringup"),
    ("ros/node.py", "from ..bringup.graph import describe_graph\n", "face_perception.bringup.graph"),
    ("parameters.py", "import face_perception.detection.detection\n", "face_perception.detection.detection"),
])
def test_upward_import_is_reported(tree: Path, relative: str, text: str, imported: str) -> None:
    _write(tree, f"{PACKAGE}/{relative}", text)
    problems = upward_imports(tree)
    assert len(problems) == 1 and f"imports {imported} " in problems[0], problems
    assert problems[0].startswith(f"{PACKAGE}/{relative}:")


def test_sub_package_without_a_layer_is_reported(tree: Path) -> None:
    _write(tree, f"{PACKAGE}/utils/__init__.py")
    _write(tree, f"{PACKAGE}/ros/inner/__init__.py")
    assert unplaced_packages(tree) == [f"{PACKAGE}.ros.inner", f"{PACKAGE}.utils"]
