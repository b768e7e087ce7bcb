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
Per face, everything emotion needs in the node, for two emotion models interleaved.

For each face of a 640x480 demo frame (the astronaut's head pasted 1 or 5 times, found by
BlazeFace once, outside the timing): the frame to grey, the card's framing cut
(``pipeline.build_batches``, as the node runs it), the normalised batch, and the LiteRT model on one thread, all
faces of the frame in one call, as the pipeline runs them. The two models alternate frame by
frame so machine load hits both alike; the figure is the median per face and the ratio.

    taskset -c 0 python scripts/benchmarks/benchmark_emotion.py --baseline <before>/emotion.tflite

``--baseline``: an earlier emotion model with its card beside it (for example the shipped one
from git: ``git show HEAD~1:face_perception/models/emotion.tflite``); default the shipped one
against itself.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
import sys
import time

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from face_perception.classification.classification import FaceClassifier  # noqa: E402
from face_perception.detection.blazeface import BlazeFaceDetector  # noqa: E402
from face_perception.parameters import PipelineConfig  # noqa: E402
from face_perception.pipeline.pipeline import build_batches, gray_from_image  # noqa: E402
from face_perception.ros.demo_frames import demo_frame  # noqa: E402

SHIPPED = Path(__file__).resolve().parents[2] / "face_perception" / "models" / "emotion.tflite"
# The node's default margin (only cards without a framing use it).
CROP_MARGIN = PipelineConfig.defaults().classification.crop_margin


def emotion_step(classifier: FaceClassifier, frame: np.ndarray, detections: list) -> np.ndarray:
    """Return the probabilities of every face: the pipeline's own grey frame, framing cut and batch, then the model."""
    spec = classifier.input_spec
    batch = build_batches(frame, gray_from_image(frame), detections, CROP_MARGIN, [spec])[spec]
    return classifier.predict(batch)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, default=SHIPPED, help="the emotion model measured (default the shipped one)")
    p.add_argument("--baseline", type=Path, default=SHIPPED, help="the emotion model it is compared with")
    p.add_argument("--frames", type=int, default=300, help="timed frames per face count and model")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    if args.frames < 20:
        raise SystemExit(f"--frames must be at least 20 (the first 10 are a warm-up), got {args.frames}")

    models = {"baseline": FaceClassifier(args.baseline, "emotion"), "model": FaceClassifier(args.model, "emotion")}
    detector = BlazeFaceDetector("short_range", min_confidence=0.5, region_scale=2.0)
    report: dict = {"model": str(args.model), "baseline": str(args.baseline), "per_face_ms": {}}
    for faces in (1, 5):
        frames = [demo_frame(i, num_faces=faces) for i in range(8)]
        detections = [detector.detect(frame) for frame in frames]
        found = [len(d) for d in detections]
        if min(found) == 0:
            raise SystemExit(f"BlazeFace found no face in a demo frame with {faces} faces ({found}): nothing to time")
        times: dict[str, list[float]] = {name: [] for name in models}
        for i in range(args.frames):
            frame, dets = frames[i % len(frames)], detections[i % len(frames)]
            for name, classifier in models.items():
                start = time.perf_counter()
                emotion_step(classifier, frame, dets)
                times[name].append((time.perf_counter() - start) * 1000.0 / len(dets))
        medians = {name: float(np.median(values[10:])) for name, values in times.items()}
        report["per_face_ms"][str(faces)] = {**medians, "ratio": medians["model"] / medians["baseline"],
                                             "faces_found": found}
        print(f"{faces} face(s) per frame (found {min(found)}-{max(found)}): model {medians['model']:.3f} ms per face, "
              f"baseline {medians['baseline']:.3f} ms, ratio {medians['model'] / medians['baseline']:.2f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
