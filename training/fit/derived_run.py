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

"""A run folder made from another by a post-training step (prior correction, weight average)."""
from __future__ import annotations

import json
from pathlib import Path
import shlex
import shutil
import sys
from typing import Any, Sequence


def step_command(module: str, argv: Sequence[str] | None) -> str:
    """Return the command line that ran ``module`` (``argv`` None: this process's arguments)."""
    return f"python -m {module} " + shlex.join(sys.argv[1:] if argv is None else list(argv))


def save_derived_run(model: Any, source_dir: Path, suffix: str, run: dict[str, Any], key: str,
                     record: dict[str, Any]) -> Path:
    """
    Write ``<source_dir><suffix>/``: the model, the source's history and its run record plus ``run[key] = record``.

    ``training.models.export --run`` reads the folder like a training run's; the record says
    what the step did and how it chose (for the model card).
    """
    out = source_dir.with_name(source_dir.name + suffix)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "model.keras")
    if (source_dir / "history.csv").is_file():
        shutil.copy(source_dir / "history.csv", out / "history.csv")
    run[key] = record
    (out / "run.json").write_text(json.dumps(run, indent=2) + "\n")
    return out
