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

"""ament_pep257 (ament's docstring convention) on the package, as `ros2 pkg create` sets it up."""
from ament_pep257.main import main
import pytest

from lint_sources import python_source_paths


@pytest.mark.slow  # the whole repository's sources: 20-50 s on 2 cores
@pytest.mark.linter
@pytest.mark.pep257
def test_pep257() -> None:
    rc = main(argv=python_source_paths())
    assert rc == 0, "Found code style errors / warnings"
