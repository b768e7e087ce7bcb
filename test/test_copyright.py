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
Every source file carries the licence header of the package.xml that declares its package.

ament_copyright (the check `ros2 pkg create` adds) has no wheel, so this is our own small
version of it: Python files, shell scripts (any file starting with `#!`), CMakeLists.txt and
.cmake files must open (after a `#!` line) with a comment block holding a `Copyright <year>
<holder>` line and the licence notice of the nearest package.xml's <license>. Interface
files (.msg) are not checked, as ament_copyright does not check them: their comments are the
interface's documentation (`ros2 interface show`), and ROS's own message packages carry no
headers there.
"""
from __future__ import annotations

import os
from pathlib import Path
import re
import xml.etree.ElementTree as ET

import pytest

from lint_sources import is_build_output, REPO_ROOT, source_paths

# The notice each licence's header must contain, line by line (comment markers stripped).
LICENCE_NOTICES = {
    "Apache-2.0": (
        'Licensed under the Apache License, Version 2.0 (the "License");',
        "you may not use this file except in compliance with the License.",
        "You may obtain a copy of the License at",
        "http://www.apache.org/licenses/LICENSE-2.0",
        "Unless required by applicable law or agreed to in writing, software",
        'distributed under the License is distributed on an "AS IS" BASIS,',
        "WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.",
        "See the License for the specific language governing permissions and",
        "limitations under the License.",
    ),
}
COPYRIGHT_LINE = re.compile(r"^Copyright (\(c\) )?\d{4}(-\d{4})? \S.*$")
SKIPPED_DIRECTORIES = frozenset({"__pycache__"})


def is_checked_source(path: Path) -> bool:
    """Return whether ament_copyright's rules cover this file: code, CMake or a script."""
    if path.suffix in {".py", ".sh", ".cmake"} or path.name == "CMakeLists.txt":
        return True
    with path.open("rb") as stream:
        return stream.read(2) == b"#!"


def source_files() -> list[Path]:
    """Return every checked source file of the repository, build outputs left out."""
    files = []
    for top in map(Path, source_paths()):
        if top.is_file():
            files += [top] if is_checked_source(top) else []
            continue
        for directory, subdirectories, names in os.walk(top):
            subdirectories[:] = [
                name for name in subdirectories
                if name not in SKIPPED_DIRECTORIES and not name.endswith(".egg-info")
                and not is_build_output(Path(directory) / name)]
            files += [Path(directory) / name for name in names if is_checked_source(Path(directory) / name)]
    return sorted(files)


def package_licence(path: Path) -> str:
    """Return the <license> of the package.xml nearest above `path` (within the repository)."""
    for directory in path.parents:
        manifest = directory / "package.xml"
        if manifest.is_file():
            licences = [element.text.strip() for element in ET.parse(manifest).getroot().findall("license")]
            assert len(licences) == 1, f"{manifest}: expected one <license>, found {licences}"
            return licences[0]
        if directory == REPO_ROOT:
            break
    raise AssertionError(f"{path}: no package.xml above it in the repository")


def header_comment(path: Path) -> list[str]:
    """Return the file's opening comment block (after a `#!` line), comment markers stripped."""
    lines = path.read_text(encoding="utf-8").splitlines()
    if lines and lines[0].startswith("#!"):
        lines = lines[1:]
    block = []
    for line in lines:
        if not line.startswith("#"):
            break
        block.append(line.lstrip("#").strip())
    return block


def header_problem(path: Path) -> str | None:
    """Return what is wrong with the file's licence header, or None when it is right."""
    licence = package_licence(path)
    if licence not in LICENCE_NOTICES:
        return f"package licence {licence!r} has no known header (add it to LICENCE_NOTICES)"
    block = header_comment(path)
    if not any(COPYRIGHT_LINE.match(line) for line in block):
        return "no 'Copyright <year> <holder>' line in the opening comment block"
    notice = [line for line in block if line]
    expected = list(LICENCE_NOTICES[licence])
    if not any(notice[start:start + len(expected)] == expected for start in range(len(notice))):
        return f"the opening comment block lacks the {licence} licence notice"
    return None


def test_sources_are_found() -> None:
    # Guards the check below against walking nothing: each kind of source is seen.
    names = {path.relative_to(REPO_ROOT).as_posix() for path in source_files()}
    for expected in ("setup.py", "launch/perception.launch.py", "face_perception/ros/perception_node.py",
                     "scripts/setup/setup_env.sh", ".ci/run", "face_perception_msgs/CMakeLists.txt"):
        assert expected in names


def test_header_problems_are_detected(tmp_path: Path) -> None:
    # The check itself must fail on a file without a header and on one with a partial notice.
    (tmp_path / "package.xml").write_text("<package format='3'><license>Apache-2.0</license></package>")
    bare = tmp_path / "bare.py"
    bare.write_text('"""No header."""\n')
    partial = tmp_path / "partial.sh"
    partial.write_text("#!/bin/sh\n# Copyright 2026 someone\n# Licensed under the Apache License\n")
    assert "Copyright" in header_problem(bare)
    assert "licence notice" in header_problem(partial)


@pytest.mark.copyright
@pytest.mark.linter
def test_copyright() -> None:
    problems = [f"{path.relative_to(REPO_ROOT)}: {problem}" for path in source_files()
                if (problem := header_problem(path)) is not None]
    assert not problems, f"{len(problems)} files without their package's licence header:\n" + "\n".join(problems)
