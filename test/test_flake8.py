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

"""ament_flake8 on the package, as the test `ros2 pkg create` writes runs it."""
from ament_flake8.main import main_with_errors
import pytest

from lint_sources import python_source_paths, REPO_ROOT

# setup.cfg's [flake8] section: ament_flake8's default configuration with 120 columns and
# double quotes, the code base's style (see the comment there).
CONFIG = REPO_ROOT / "setup.cfg"


@pytest.mark.slow  # the whole repository's sources: 20-50 s on 2 cores
@pytest.mark.flake8
@pytest.mark.linter
def test_flake8() -> None:
    rc, errors = main_with_errors(argv=["--config", str(CONFIG), *python_source_paths()])
    assert rc == 0, f"Found {len(errors)} code style errors / warnings:\n" + "\n".join(errors)
