#!/usr/bin/env python3
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
Point the ROS 2 wheels' exported CMake files at this virtual environment.

The PyPI ROS 2 wheels are built in a manylinux container and their CMake export
files hard-code that container's Python (``/opt/python/cp311-cp311/...``). CMake
then fails to find Python headers when building our interface packages. This
rewrites those paths, in place and idempotently, to this interpreter's include
directory and NumPy's headers.
"""
from __future__ import annotations

from pathlib import Path
import sys
import sysconfig

import numpy

WHEEL_PYTHON_PREFIX = "/opt/python/cp311-cp311"


def replacements() -> list[tuple[str, str]]:
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return [
        (f"{WHEEL_PYTHON_PREFIX}/lib/{version}/site-packages/numpy/_core/include", numpy.get_include()),
        (f"{WHEEL_PYTHON_PREFIX}/include/{version}", sysconfig.get_paths()["include"]),
    ]


def main() -> int:
    prefix = Path(sys.prefix)
    changed = 0
    for cmake_file in sorted((prefix / "share").glob("*/cmake/*.cmake")):
        text = cmake_file.read_text(encoding="utf-8")
        if WHEEL_PYTHON_PREFIX not in text:
            continue
        for old, new in replacements():
            text = text.replace(old, new)
        cmake_file.write_text(text, encoding="utf-8")
        changed += 1
    print(f"fix_ros_wheel_cmake: rewrote {changed} CMake file(s) under {prefix / 'share'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
