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
Measure face_embedding.CHIP_TEMPLATE: where our keypoints fall on dlib's own aligned chips.

On LFW validation people: dlib's HOG detector and 5-point predictor cut the chip dlib's ResNet
was trained on (150x150, padding 0.25); BlazeFace's short-range model then measures our six
keypoints on that chip. The mean of the first four (eyes, nose tip, mouth) is the template.
Run: .venv/bin/python scripts/measurements/calibrate_identity_alignment.py
"""
from __future__ import annotations

import sys
import tarfile

import cv2
import dlib
import numpy as np

from face_perception.detection.blazeface import BlazeFaceModelRunner, face_keypoints
from face_perception.identity.face_embedding import CHIP_SIZE, dlib_model_path
from identity_lfw import limit_images, split_people
from training.data.loaders.lfw import read_photo
from training.paths import DEFAULT_LFW


def main() -> int:
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(dlib_model_path("shape_predictor_5_face_landmarks.dat")))
    runner = BlazeFaceModelRunner("short_range", 1)
    points = []
    with tarfile.open(DEFAULT_LFW) as tar:
        validation, _ = split_people(tar)
        for paths in limit_images(validation, 200, 2).values():
            for path in paths:
                rgb = cv2.cvtColor(read_photo(tar, path), cv2.COLOR_BGR2RGB)
                faces = detector(rgb, 1)
                if len(faces) != 1:
                    continue
                chip = dlib.get_face_chip(rgb, predictor(rgb, faces[0]), size=CHIP_SIZE, padding=0.25)
                found = runner.detect_square(chip, 0, 0, CHIP_SIZE, 0.3)
                if found:
                    best = max(found, key=lambda f: f[1])[0]
                    points.append(np.array(face_keypoints(best))[:4])
    points = np.array(points)
    print(f"{len(points)} chips; mean (x, y) of right eye, left eye, nose tip, mouth:")
    print(np.round(points.mean(axis=0), 1).tolist())
    print("std:", np.round(points.std(axis=0), 1).tolist())
    return 0


if __name__ == "__main__":
    sys.exit(main())
