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

"""Camera frames with real LFW photos pasted in (../shared/data; the tests skip without it)."""
from __future__ import annotations

import tarfile
import time

import cv2
import numpy as np
import pytest

from training.data.loaders.lfw import read_photo
from training.paths import DEFAULT_LFW

# Two photos each of three people (different days, light and pose); Haar finds all but B's second.
PHOTOS = {
    "A": ("lfw/Colin_Powell/Colin_Powell_0001.jpg", "lfw/Colin_Powell/Colin_Powell_0002.jpg"),
    "B": ("lfw/Serena_Williams/Serena_Williams_0001.jpg", "lfw/Serena_Williams/Serena_Williams_0002.jpg"),
    "C": ("lfw/Junichiro_Koizumi/Junichiro_Koizumi_0001.jpg", "lfw/Junichiro_Koizumi/Junichiro_Koizumi_0002.jpg"),
}
needs_lfw = pytest.mark.skipif(not DEFAULT_LFW.is_file(), reason=f"{DEFAULT_LFW} not found (CI has it)")


def lfw_photos() -> dict[str, list[np.ndarray]]:
    """Person letter -> their two photos, BGR 112x112."""
    photos: dict[str, list[np.ndarray]] = {}
    with tarfile.open(DEFAULT_LFW) as tar:
        for person, paths in PHOTOS.items():
            for path in paths:
                photos.setdefault(person, []).append(read_photo(tar, path))
    return photos


def frame_with(photos: list[tuple[np.ndarray, int, int]], width: int = 640, height: int = 480) -> np.ndarray:
    """Return a grey-wall frame with each (photo, x, y) pasted at twice its size (a face ~140 px wide)."""
    frame = np.full((height, width, 3), 110, np.uint8)
    for photo, x, y in photos:
        big = cv2.resize(photo, (224, 224), interpolation=cv2.INTER_CUBIC)
        frame[y:y + 224, x:x + 224] = big
    return frame


def settle(pipeline, frame: np.ndarray, timeout: float = 60.0):
    """
    Show ``frame`` until every face in it has a person (identity weighs several descriptors); return the faces.

    Frames are processed and the identity worker waited for until each face's track has been
    decided (identity.evidence_needed agreeing descriptors) or ``timeout`` seconds have passed.
    """
    end = time.monotonic() + timeout
    while True:
        pipeline.process(frame)
        assert pipeline.wait_for_identity(30.0)
        faces = pipeline.process(frame).faces
        if (faces and all(face.person is not None for face in faces)) or time.monotonic() > end:
            return faces
