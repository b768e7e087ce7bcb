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
Smoke test of scripts/benchmarks/benchmark.py --quick: it runs end to end and reports every part.

No timing asserts: the numbers of a three-frame run on a shared machine mean nothing.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
import subprocess
import sys

import pytest

from face_perception.classification.classification import card_path_for, resolve_model_path

pytestmark = [pytest.mark.ros, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("convert", "detect", "crop", "classify", "track", "publish")


def shipped_models_present() -> bool:
    return all(resolve_model_path("", task).is_file() and card_path_for(resolve_model_path("", task)).is_file()
               for task in ("emotion", "gender"))


@pytest.fixture(scope="module")
def quick_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    out = tmp_path_factory.mktemp("benchmark") / "benchmark.json"
    command = [sys.executable, str(ROOT / "scripts" / "benchmarks" / "benchmark.py"), "--quick", "--json", str(out)]
    if not shipped_models_present():
        model_dir = request.getfixturevalue("model_dir")  # small untrained models (conftest.py)
        command += ["--emotion-model", str(model_dir / "emotion.tflite"),
                    "--gender-model", str(model_dir / "gender.tflite")]
    # A DDS domain of its own; --quick runs the ROS graph with config/fastdds_local_only.xml.
    env = dict(os.environ, ROS_DOMAIN_ID=str(150 + os.getpid() % 50))
    completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return completed.stdout, json.loads(out.read_text())


def test_stage_table_has_every_stage_for_baseline_and_ours(quick_run: tuple[str, dict]) -> None:
    stdout, report = quick_run
    for stage in (*STAGES, "end-to-end p50", "end-to-end p95", "fps", "classify ms/face"):
        assert any(line.startswith(stage) for line in stdout.splitlines()), f"no '{stage}' row:\n{stdout}"
    results = report["compare"]["results"]
    assert {"baseline", "ours:default", "ours:redetect3"} <= set(results)
    for name, per_config in results.items():
        for summary in per_config.values():
            assert all(f"{stage}_ms" in summary for stage in STAGES), name


def test_ratio_lines_for_each_variant(quick_run: tuple[str, dict]) -> None:
    stdout, _report = quick_run
    for variant in ("ours:default", "ours:redetect3"):
        lines = [line for line in stdout.splitlines() if line.startswith(f"ratio {variant}/baseline:")]
        assert lines, stdout
        assert all(word in lines[0] for word in ("detect", "classify", "end-to-end", "x faster")), lines[0]


def test_ours_measured_without_tensorflow(quick_run: tuple[str, dict]) -> None:
    _stdout, report = quick_run
    assert report["ours"]["tensorflow_loaded"] is False
    assert report["ours"]["peak_rss_mb"] > 0


def test_ros_graph_recall_footprint_and_targets_reported(quick_run: tuple[str, dict]) -> None:
    stdout, report = quick_run
    assert "== ROS graph" in stdout and report["ros"]["runs"], stdout
    run = report["ros"]["runs"][0]
    assert run["published"] > 0 and run["outputs"] > 0, run  # the node answered
    assert report["ros"]["nodes"][0]["peak_rss_mb"] > 0
    assert "== Detection recall" in stdout and report["recall"]["sequences"]
    assert report["footprint"]["metadata"]["total_mb"] > 0
    assert "== Targets" in stdout and len(report["targets"]) >= 6


def test_soak_mode_samples_memory_and_reports_each_minute(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    # A 15-second soak (the real one is 10 minutes, docs/benchmark.md): the same code path.
    out = tmp_path / "soak.json"
    command = [sys.executable, str(ROOT / "scripts" / "benchmarks" / "benchmark.py"), "--soak-minutes", "0.25",
               "--soak-sample-s", "5", "--soak-rate", "10", "--dds", "local-only", "--json", str(out)]
    if not shipped_models_present():
        model_dir = request.getfixturevalue("model_dir")
        command += ["--emotion-model", str(model_dir / "emotion.tflite"),
                    "--gender-model", str(model_dir / "gender.tflite")]
    env = dict(os.environ, ROS_DOMAIN_ID=str(150 + (os.getpid() + 7) % 50))
    completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    soak = json.loads(out.read_text())["soak"]
    assert [sample["t_s"] for sample in soak["samples"]] == pytest.approx([0, 5, 10, 15], abs=1.0)
    assert all(sample["rss_mb"] > 0 for sample in soak["samples"])
    assert soak["published"] == soak["samples"][-1]["inputs"] > 100 and soak["outputs"] > 0
    (minute,) = soak["per_minute"]
    assert minute["inputs"] == soak["published"] and minute["outputs"] == soak["outputs"]
    assert minute["latency_p95_ms"] >= minute["latency_p50_ms"] > 0
    assert "frames_missed_estimate" in soak["node_diagnostics"]
    assert "== Soak" in completed.stdout and "minute  inputs  outputs" in completed.stdout
