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

"""The factory that builds the configured face detector (a :class:`~.detection.FaceDetector`)."""
from __future__ import annotations

from typing import Callable

from face_perception.detection.detection import FaceDetector
from face_perception.parameters import ConfigError, DETECTION_BACKENDS, DetectionConfig

# The DNN backends are imported when chosen: the Haar-only node never loads LiteRT or OpenCV's DNN models.


def _haar(config: DetectionConfig) -> FaceDetector:
    from face_perception.detection.haar import HaarFaceDetector

    return HaarFaceDetector(config)


def _blazeface(config: DetectionConfig) -> FaceDetector:
    from face_perception.detection.blazeface import BlazeFaceDetector

    return BlazeFaceDetector(config.blazeface_model, config.blazeface_min_confidence, config.region_scale,
                             config.blazeface_tiles)


def _yunet(config: DetectionConfig) -> FaceDetector:
    from face_perception.detection.yunet import YuNetDetector

    return YuNetDetector(config)


BACKENDS: dict[str, Callable[[DetectionConfig], FaceDetector]] = {"haar": _haar, "blazeface": _blazeface,
                                                                  "yunet": _yunet}
if tuple(BACKENDS) != DETECTION_BACKENDS:  # fail at import if the parameter's choices and this table drift apart
    raise RuntimeError(f"detection backends {tuple(BACKENDS)} do not match the parameter's {DETECTION_BACKENDS}")


def create_detector(config: DetectionConfig) -> FaceDetector:
    """Return a new detector of ``config.backend``; each caller (thread) needs its own."""
    build = BACKENDS.get(config.backend)
    if build is None:
        raise ConfigError(f"parameter 'detection.backend' = {config.backend!r} is not one of {DETECTION_BACKENDS}")
    return build(config)
