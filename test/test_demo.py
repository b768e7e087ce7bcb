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

"""The demo command end to end: separate node processes, real DDS, real frames."""
from __future__ import annotations

import os
from pathlib import Path
import subprocess
import sys

import pytest
import yaml

pytestmark = [pytest.mark.ros, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent


def test_demo_runs_the_graph_and_writes_annotated_frames(model_dir: Path, tmp_path: Path):
    document = yaml.safe_load((ROOT / "config" / "perception.yaml").read_text())
    classification = document["/**/face_perception"]["ros__parameters"]["classification"]
    classification["emotion_model"] = str(model_dir / "emotion.tflite")
    classification["gender_model"] = str(model_dir / "gender.tflite")
    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump(document))
    output = tmp_path / "frames"
    environment = {**os.environ, "ROS_DOMAIN_ID": str(101 + os.getpid() % 50)}
    completed = subprocess.run(
        [sys.executable, "-m", "face_perception.bringup.demo", "--frames", "12", "--rate", "5", "--faces", "2",
         "--params-file", str(params_file), "--output", str(output), "--timeout", "90"],
        capture_output=True, text=True, timeout=150, env=environment, cwd=tmp_path,
    )
    log = completed.stdout + completed.stderr
    assert completed.returncode == 0, log
    frame_lines = [line for line in completed.stdout.splitlines() if line.startswith("frame ")]
    assert frame_lines, log
    assert all("2 face(s)" in line and "face_1" in line and "face_2" in line for line in frame_lines), log
    assert "node diagnostics" in completed.stdout
    written = sorted(output.glob("frame_*.jpg"))
    assert written, log
