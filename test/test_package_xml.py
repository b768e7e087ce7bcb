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
Every package.xml is well-formed, package format 3, and valid as ROS's tools read it.

ament_xmllint (what `ros2 pkg create` adds for this) validates against the format-3 schema
that each manifest names, downloading it; tests here never download. So: xmllint checks
well-formedness where it is installed (it is not part of `make test`'s clean Debian, hence the
skip), and catkin_pkg, the parser colcon and rosdep use (installed with colcon), checks what
the schema does: the elements allowed in format 3, their order-free content and the required
name, version, description, maintainer and licence.
"""
from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from lint_sources import REPO_ROOT

MANIFESTS = sorted(REPO_ROOT.glob("package.xml")) + sorted(REPO_ROOT.glob("*/package.xml")) \
    + sorted(REPO_ROOT.glob("vendor/*/package.xml"))
SCHEMA_MODEL = '<?xml-model href="http://download.ros.org/schema/package_format3.xsd"'


def test_manifests_are_found() -> None:
    names = {path.relative_to(REPO_ROOT).as_posix() for path in MANIFESTS}
    assert names == {"package.xml", "face_perception_msgs/package.xml", "vendor/vision_msgs/package.xml"}


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda path: path.relative_to(REPO_ROOT).as_posix())
def test_manifest_is_format_3(manifest) -> None:
    root = ET.parse(manifest).getroot()  # raises on XML that is not well-formed
    assert root.tag == "package" and root.get("format") == "3"
    assert SCHEMA_MODEL in manifest.read_text(encoding="utf-8"), "the format-3 schema reference is missing"


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda path: path.relative_to(REPO_ROOT).as_posix())
def test_manifest_is_valid_for_catkin_pkg(manifest) -> None:
    package_module = pytest.importorskip("catkin_pkg.package", reason="catkin_pkg comes with colcon (make setup-dev)")
    warnings: list[str] = []
    # parse_package validates (InvalidPackage on a missing or malformed element) and reports
    # unknown elements and deprecated content as warnings, which we treat as errors.
    package = package_module.parse_package(manifest, warnings=warnings)
    assert not warnings, f"{manifest}: {warnings}"
    assert package.name == manifest.parent.name or manifest.parent == REPO_ROOT
    assert package.package_format == 3


@pytest.mark.xmllint
@pytest.mark.linter
@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda path: path.relative_to(REPO_ROOT).as_posix())
def test_xmllint(manifest) -> None:
    xmllint = shutil.which("xmllint")
    if xmllint is None:
        pytest.skip("xmllint is not installed (Debian: apt-get install libxml2-utils); catkin_pkg checked the schema")
    result = subprocess.run([xmllint, "--noout", str(manifest)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
