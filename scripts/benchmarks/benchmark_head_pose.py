#!/usr/bin/env python3
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
Per-frame cost of head pose and what comes with it, at 1 and 5 faces.

Per-frame cost of the head-pose work (keypoints for every face, head pose, landmarks, face
frames, aligned faces) at 1 and 5 faces, as a ratio to the frame's work without it,
measured in the same run, frame by frame interleaved so machine load hits both alike.

- baseline: ``pipeline.process`` (shipped models) + the messages built every frame without
  it (FaceAttributesArray, and per face the REP-155 roi, softbiometrics, expression).
- new: the same with ``measure_keypoints`` (a BlazeFace pass per Haar face; BlazeFace faces
  have keypoints already), the head pose per face (solvePnP + One-Euro), FacialLandmarks,
  the /tf message and FaceAttributes.position; ``+aligned``: also a 128x128 aligned face per
  face (only built while someone subscribes to /aligned).

Then each new step alone, per face. Messages are built, not published (the DDS cost is the
same per byte for both). Frames: 640x480, the astronaut's head pasted 1 or 5 times
(face_perception.ros.demo_frames), f = 600 px.

Usage: python scripts/benchmarks/benchmark_head_pose.py [--frames N] [--repeats N]
"""
from __future__ import annotations

import argparse
from pathlib import Path
import sys
import time

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from std_msgs.msg import Header  # noqa: E402

from face_perception.geometry import head_pose as hp  # noqa: E402
from face_perception.parameters import PipelineConfig  # noqa: E402
from face_perception.pipeline.pipeline import FacePerceptionPipeline  # noqa: E402
from face_perception.ros import hri_output, ros_messages  # noqa: E402
from face_perception.ros.demo_frames import demo_frame  # noqa: E402
from face_perception.ros.face_frames import face_transforms  # noqa: E402

K = np.array([[600.0, 0.0, 320.0], [0.0, 600.0, 240.0], [0.0, 0.0, 1.0]])
CAMERA = hp.CameraModel.from_values(K.ravel(), [], "", 640, 480)


def baseline_messages(result, header) -> None:
    ros_messages.face_attributes_array(result.faces, header)
    for face in result.faces:
        hri_output.normalized_roi(face, result.image_size, header)
        hri_output.soft_biometrics(face, header)
        hri_output.expression(face, header)


def new_messages(result, header, tracker, stamp_s, bgr, aligned: bool) -> int:
    poses = tracker.update_frame(((f.track_id, None if f.keypoints is None else hp.from_keypoints(f.keypoints))
                                  for f in result.faces), result.live_track_ids,
                                 CAMERA, stamp_s)
    ros_messages.face_attributes_array(result.faces, header,
                                       {track_id: pose.translation for track_id, pose in poses.items()})
    for face in result.faces:
        hri_output.normalized_roi(face, result.image_size, header)
        hri_output.soft_biometrics(face, header)
        hri_output.expression(face, header)
        hri_output.facial_landmarks(face, result.image_size, header)
        if aligned and face.keypoints is not None:
            ros_messages.image_msg_with_header(hri_output.aligned_face(bgr, face.keypoints), header)
    for track_id, pose in poses.items():
        face_transforms(header, track_id, pose)
    return len(poses)


def run(backend: str, num_faces: int, frames: int) -> None:
    config = PipelineConfig.from_mapping({"detection.backend": backend})
    variants = {name: FacePerceptionPipeline(config) for name in ("baseline", "new", "new+aligned")}
    for name in ("new", "new+aligned"):
        variants[name].measure_keypoints = True
    trackers = {name: hp.HeadPoseTracker() for name in variants}
    images = [demo_frame(i, 640, 480, num_faces) for i in range(10)]
    times: dict[str, list[float]] = {name: [] for name in variants}
    posed = []
    for index in range(frames + 5):
        image = images[index % len(images)]
        header = Header(frame_id="camera_optical_frame")
        header.stamp.sec = 1000 + index // 30
        header.stamp.nanosec = (index % 30) * 33_333_333
        names = list(variants)
        names = names[index % 3:] + names[:index % 3]  # interleaved, order rotated: the same load for all
        for name in names:
            pipeline = variants[name]
            start = time.perf_counter()
            result = pipeline.process(image)
            if name == "baseline":
                baseline_messages(result, header)
            else:
                count = new_messages(result, header, trackers[name], index / 30, image,
                                     name == "new+aligned")
                if name == "new" and index >= 5:
                    posed.append(count / max(1, len(result.faces)))
            if index >= 5:  # warm-up frames left out
                times[name].append((time.perf_counter() - start) * 1000.0)
    base = np.median(times["baseline"])
    line = f"  {backend:9s} {num_faces} face(s): baseline {base:6.2f} ms"
    for name in ("new", "new+aligned"):
        median = np.median(times[name])
        line += f" | {name} {median:6.2f} ms (x{median / base:.2f}, +{median - base:.2f} ms)"
    print(line + f" | faces with a pose {100 * np.mean(posed):.0f}%")


def components(repeats: int) -> None:
    """Time each new step alone: median of ``repeats`` calls on one face (steadier than frames under load)."""
    from face_perception.detection.keypoints import RegionKeypointFinder

    config = PipelineConfig.from_mapping({})
    pipeline = FacePerceptionPipeline(config)
    image = demo_frame(0, 640, 480, 1)
    detection = pipeline.detector.detect(image)[0]
    finder = RegionKeypointFinder()
    pipeline.measure_keypoints = True
    face = pipeline.process(image).faces[0]
    header = Header(frame_id="camera_optical_frame")
    tracker = hp.HeadPoseTracker()
    pose = hp.estimate_head_pose(np.asarray(face.keypoints), CAMERA)
    steps = {
        "BlazeFace pass in a Haar box": lambda: finder.add_keypoints(image, [detection]),
        "solvePnP (estimate_head_pose)": lambda: hp.estimate_head_pose(np.asarray(face.keypoints), CAMERA),
        "One-Euro update": lambda: tracker.update("face_1", pose, time.perf_counter()),
        "FacialLandmarks message": lambda: hri_output.facial_landmarks(face, (640, 480), header),
        "face + gaze TransformStamped": lambda: face_transforms(header, "abc1", pose),
        "aligned 128x128 + Image message": lambda: ros_messages.image_msg_with_header(
            hri_output.aligned_face(image, face.keypoints), header),
    }
    print(f"per face, median of {repeats} calls:")
    for name, step in steps.items():
        step()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            step()
            times.append((time.perf_counter() - start) * 1000.0)
        print(f"  {name:34s} {np.median(times):7.3f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=60, help="timed frames per case (median reported)")
    parser.add_argument("--repeats", type=int, default=200, help="calls per step in the per-step timings")
    args = parser.parse_args()
    print(f"median ms per frame over {args.frames} frames, 640x480; ratio new / baseline from the same run")
    for backend in ("haar", "blazeface"):
        for num_faces in (1, 5):
            run(backend, num_faces, args.frames)
    components(args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
