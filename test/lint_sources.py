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
The package's source paths for the lint tests, as colcon would see the package folder.

ament's linters run from the package folder on '.'; ours is also where the virtual
environment and the build outputs live, which colcon keeps outside the package. So the
linters get every top-level entry of the repository except those: hidden entries (.git,
.venv, .pytest_cache; .ci, the CI entry script, is a source), colcon's build/install/log,
`make demo`'s out/ and any folder that is a Python virtual environment (pyvenv.cfg).
"""
from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BUILD_OUTPUTS = frozenset({"build", "install", "log", "out"})
HIDDEN_SOURCES = frozenset({".ci"})


def is_build_output(path: Path) -> bool:
    """Return whether a top-level entry of the repository is a build output, not a source."""
    hidden = path.name.startswith(".") and path.name not in HIDDEN_SOURCES
    return hidden or path.name in BUILD_OUTPUTS or (path / "pyvenv.cfg").exists()


def source_paths() -> list[str]:
    """Return the repository's top-level source entries, as paths for a linter's command line."""
    return sorted(str(path) for path in REPO_ROOT.iterdir() if not is_build_output(path))


def python_source_paths() -> list[str]:
    """
    Return the source folders and top-level Python files: what the Python linters walk.

    Linters check every file named on their command line whatever its suffix, so the
    top-level non-Python files (Makefile, package.xml) are left to the other checks.
    """
    return [path for path in source_paths() if Path(path).is_dir() or path.endswith(".py")]
