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

"""Our side: the project's pipeline, measured per stage as the node runs it (no TensorFlow)."""
from __future__ import annotations

from dataclasses import dataclass
import time
from typing import Any, Mapping

from benchlib.common import publish_stage

# Variants of our pipeline: name -> parameter overrides on top of parameters.py defaults.
VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "redetect3": {"detection.redetect_interval": 3},
}


def variant_config(overrides: Mapping[str, Any], emotion_model: str, gender_model: str):
    from face_perception.parameters import PipelineConfig

    values = dict(overrides)
    if emotion_model:
        values["classification.emotion_model"] = emotion_model
    if gender_model:
        values["classification.gender_model"] = gender_model
    return PipelineConfig.from_mapping(values)


@dataclass
class OursRunner:
    """One pipeline instance (its own tracks) for one variant and one frame configuration."""

    name: str
    pipeline: Any
    draw: bool

    @classmethod
    def create(cls, name: str, emotion_model: str, gender_model: str, draw: bool) -> "OursRunner":
        from face_perception.pipeline.pipeline import FacePerceptionPipeline

        return cls(name, FacePerceptionPipeline(variant_config(VARIANTS[name], emotion_model, gender_model)), draw)

    def step(self, message) -> dict[str, float]:
        """Image message -> output bytes, as PerceptionNode._process does; ms per stage."""
        from face_perception.ros.ros_messages import image_msg_to_bgr

        start = time.perf_counter()
        bgr = image_msg_to_bgr(message)
        converted = time.perf_counter()
        result = self.pipeline.process(bgr)
        processed = time.perf_counter()
        publish_stage(result.faces, bgr, message.header, self.draw)
        end = time.perf_counter()
        record = {stage: result.timings_ms[stage] for stage in ("detect", "crop", "classify", "track")}
        record.update(
            convert=(converted - start) * 1000.0,
            publish=(end - processed) * 1000.0,
            total=(end - start) * 1000.0,
            faces=len(result.faces),
            # Pipeline time outside its own stage laps (should be ~0).
            unaccounted=(processed - converted) * 1000.0 - result.timings_ms["total"],
        )
        return record
