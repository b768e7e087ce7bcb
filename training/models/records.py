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

"""What a model's run.json (beside a trained model) or card (beside a shipped model) says of its training."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def provenance(model_path: Path) -> dict[str, Any]:
    """Return what run.json (beside a run's model) or the card (beside a shipped model) says of training."""
    for record in (model_path.with_name("run.json"), model_path.with_suffix(".card.json")):
        if record.is_file():
            data = json.loads(record.read_text())
            return {"targets": data.get("targets", data.get("training_targets", "original")),
                    "epochs": data.get("epochs_run"), "minutes": data.get("training_minutes"),
                    "trained_on": data.get("trained_on", ""),
                    **({"teacher": [m["model"] for m in data["teacher"]["members"]]} if "teacher" in data else {})}
    return {}


def model_record(model_path: Path) -> dict[str, Any] | None:
    """Return a model's run.json (beside a run's model.keras) or card (beside a shipped model), if any."""
    for record in (model_path.with_name("run.json"), model_path.with_suffix(".card.json")):
        if record.is_file():
            return json.loads(record.read_text())
    return None


def model_framing(model_path: Path) -> dict[str, Any] | None:
    """Return the framing a trained model's run (run.json beside it) or shipped card was cut with."""
    record = model_record(model_path)
    return None if record is None else record["input"].get("framing")
