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


"""docs/parameters.md is what scripts/docs/generate_parameters_doc.py makes of the parameter table."""
from __future__ import annotations

import dataclasses
import importlib.util
import re

from conftest import REPO_ROOT
from face_perception.parameters import PARAMETERS, TABLES

GENERATOR = REPO_ROOT / "scripts" / "docs" / "generate_parameters_doc.py"


def load_generator():
    spec = importlib.util.spec_from_file_location("generate_parameters_doc", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_parameters_page_is_the_generators_output() -> None:
    generator = load_generator()
    page = generator.DOC_PATH.read_text() if generator.DOC_PATH.is_file() else ""
    assert page == generator.render(), f"docs/parameters.md is out of date: run `{generator.COMMAND}`"


def rows_of(text: str, name: str, titles: tuple[str, ...]) -> list[str]:
    """Return the table rows for parameter ``name`` under the headings in ``titles``."""
    found, inside = [], False
    for line in text.splitlines():
        if line.startswith("## "):
            inside = line[3:] in titles
        elif inside and line.startswith(f"| `{name}` |"):
            found.append(line)
    return found


def test_every_parameter_of_every_node_has_one_row_in_its_nodes_sections() -> None:
    generator = load_generator()
    text = generator.render()
    perception = tuple(generator.GROUP_TITLES.values()) + tuple(
        {spec.name.split(".", 1)[0] for spec in PARAMETERS} - set(generator.GROUP_TITLES))
    for spec in PARAMETERS:
        assert len(rows_of(text, spec.name, perception)) == 1, spec.name
    for node, title in generator.OTHER_NODE_TITLES.items():
        for spec in TABLES[node]:
            assert len(rows_of(text, spec.name, (title,))) == 1, (node, spec.name)
    row = next(line for line in text.splitlines() if line.startswith("| `detection.max_width` |"))
    assert "| `480` | `160..8192` or `0` | run time |" in row, row
    row = next(line for line in text.splitlines() if line.startswith("| `identity.database` |"))
    assert "| `~/.ros/face_perception/persons.db` |  | start-up |" in row, row
    row = next(line for line in text.splitlines() if line.startswith("| `tracked_topics` |"))
    assert "| string array | none (required) |  | read-only |" in row, row


def test_a_new_group_and_a_startup_flag_are_rendered() -> None:
    generator = load_generator()
    extra = dataclasses.replace(PARAMETERS[0], name="audio.volume", description="loudness",
                                default=3, type=int, min=0, max=10, choices=None, special=(), startup_only=True,
                                read_only=False)
    text = generator.render((*PARAMETERS, extra))
    assert "## audio" in text and "- [audio](#audio) (1)" in text
    assert re.search(r"^\| `audio\.volume` \| integer \| `3` \| `0\.\.10` \| start-up \| loudness", text, re.M)
