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
What engagement and persons add per face: the node's per-frame steps, timed on real results.

    python scripts/benchmarks/benchmark_engagement.py [--frames 300]

Runs the pipeline once on the two-person render (face_perception.bringup.visitor_scenario),
with its head poses and gazes, then times what the node does per frame with
engagement.enabled and hri.enabled on top of what it does without (nothing): the engagement
step (NodeEngagement.update), the anonymous persons, their REP-155 messages with
engagement_status (HriPersonOutput.publish) and the proxemic lists (HriProxemicsOutput),
published by a real rclpy node. Prints milliseconds per frame and per face, and the
ratio to the pipeline's own time on that frame. Needs hri_msgs.
"""
from __future__ import annotations

import argparse
from pathlib import Path
import sys
import time

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import rclpy  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from face_perception.bringup import visitor_scenario as vs  # noqa: E402
from face_perception.geometry.gaze import GazeTracker  # noqa: E402
from face_perception.geometry.head_pose import CameraModel, HeadPoseTracker  # noqa: E402
from face_perception.geometry.mesh_geometry import best_pose_estimate  # noqa: E402
from face_perception.interaction.proxemics import zone_lists  # noqa: E402
from face_perception.parameters import PipelineConfig  # noqa: E402
from face_perception.pipeline.pipeline import FacePerceptionPipeline  # noqa: E402
from face_perception.ros.engagement import NodeEngagement, person_positions  # noqa: E402
from face_perception.ros.hri_persons import anonymous_persons, HriPersonOutput, HriProxemicsOutput  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=300)
    args = parser.parse_args(argv)
    config = PipelineConfig.from_mapping({"detection.backend": "blazeface"})
    pipeline = FacePerceptionPipeline(config)
    pipeline.measure_keypoints = pipeline.measure_landmarks = True
    image = vs.render_shot(vs.two_persons()[0])
    camera = CameraModel.from_values(vs.K.ravel(), [0.0] * 5, "plumb_bob", vs.WIDTH, vs.HEIGHT)
    poses_tracker, gaze_tracker = HeadPoseTracker(), GazeTracker()
    pipeline_ms = []
    for index in range(10):
        start = time.perf_counter()
        result = pipeline.process(image)
        pipeline_ms.append((time.perf_counter() - start) * 1000.0)
        poses = poses_tracker.update_frame(((f.track_id, best_pose_estimate(f.landmarks, f.keypoints))
                                            for f in result.faces), result.live_track_ids, camera, index / 10)
        gazes = gaze_tracker.update_frame(((f.track_id, f.landmarks) for f in result.faces), poses,
                                          result.live_track_ids, camera, index / 10)
    pipeline.close()
    faces = len(result.faces)
    rclpy.init()
    node = rclpy.create_node("benchmark_engagement")
    engagement = NodeEngagement(node, config.engagement)
    persons_output = HriPersonOutput(node, list, transient=True, engagement=True)
    proxemics = HriProxemicsOutput(node)

    def face_id(track_id: str) -> str:
        return "abc" + track_id.rpartition("_")[2]

    step_ms = []
    for index in range(args.frames):
        header = Header(frame_id="camera_optical_frame")
        header.stamp.sec, header.stamp.nanosec = 1000 + index // 10, (index % 10) * 100_000_000
        start = time.perf_counter()
        levels_by_track, robot = engagement.update(result, header, poses, gazes, "")
        levels = {track_id: value.level for track_id, value in levels_by_track.items()}
        persons = anonymous_persons(result.live_track_ids, face_id)
        persons_output.publish(persons, face_id, header, levels)
        proxemics.publish(zone_lists(person_positions(persons, poses), engagement.distances, robot.origin), header)
        step_ms.append((time.perf_counter() - start) * 1000.0)
    persons_output.close()
    proxemics.close()
    node.destroy_node()
    rclpy.shutdown()
    step_ms = sorted(step_ms[20:])  # after the first frames (publishers created)
    median = step_ms[len(step_ms) // 2]
    pipeline_median = sorted(pipeline_ms)[len(pipeline_ms) // 2]
    print(f"{faces} faces; pipeline {pipeline_median:.1f} ms per frame (median of {len(pipeline_ms)})")
    print(f"engagement + persons + proxemics: {median:.3f} ms per frame (median of {len(step_ms)}), "
          f"{median / faces:.3f} ms per face; on/off ratio of the frame time "
          f"{(pipeline_median + median) / pipeline_median:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
