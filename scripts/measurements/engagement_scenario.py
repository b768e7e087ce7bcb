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
The rendered visitor through the pipeline, head pose, gaze and engagement: a plot and a timing.

    python scripts/measurements/engagement_scenario.py [--plot docs/engagement_scenario.png]

Renders face_perception.bringup.visitor_scenario.visitor (approach from 4 m looking at the
camera, talk, look away, leave) at 10 Hz, runs the node's per-frame chain without ROS
(BlazeFace, face mesh, the shipped models, HeadPoseTracker, GazeTracker, EngagementTracker,
with the default parameters) and prints each state change next to the one the true poses
give. With --plot it draws the score, the window mean, the thresholds and the state over
time (measured and true). It also times EngagementTracker.update_frame per face.
"""
from __future__ import annotations

import argparse
from pathlib import Path
import sys
import timeit

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from face_perception.bringup import visitor_scenario as vs  # noqa: E402
from face_perception.geometry.gaze import GazeTracker  # noqa: E402
from face_perception.geometry.head_pose import CameraModel, HeadPoseTracker  # noqa: E402
from face_perception.geometry.mesh_geometry import best_pose_estimate  # noqa: E402
from face_perception.interaction import engagement as eg  # noqa: E402
from face_perception.parameters import PipelineConfig  # noqa: E402
from face_perception.pipeline.pipeline import FacePerceptionPipeline  # noqa: E402


def run_scenario(shots: list[vs.Shot]) -> list[dict]:
    """Return one row per shot: time, phase, measured score/mean/level (NaN/UNKNOWN without a face), true ones."""
    pipeline = FacePerceptionPipeline(PipelineConfig.from_mapping({"detection.backend": "blazeface"}))
    pipeline.measure_keypoints = pipeline.measure_landmarks = True
    camera = CameraModel.from_values(vs.K.ravel(), [0.0] * 5, "plumb_bob", vs.WIDTH, vs.HEIGHT)
    poses, gazes, tracker = HeadPoseTracker(), GazeTracker(), eg.EngagementTracker()
    truth = eg.ScoreHistory()
    rows = []
    for shot in shots:
        result = pipeline.process(vs.render_shot(shot))
        frame_poses = poses.update_frame(((f.track_id, best_pose_estimate(f.landmarks, f.keypoints))
                                          for f in result.faces), result.live_track_ids, camera, shot.time_s)
        frame_gazes = gazes.update_frame(((f.track_id, f.landmarks) for f in result.faces), frame_poses,
                                         result.live_track_ids, camera, shot.time_s)
        faces = [(f.track_id, frame_poses[f.track_id].translation,
                  eg.looking_direction(frame_poses[f.track_id], frame_gazes.get(f.track_id)))
                 for f in result.faces if f.track_id in frame_poses]
        measured = tracker.update_frame(faces, result.live_track_ids, shot.time_s)
        none = eg.Engagement(eg.UNKNOWN, np.nan, np.nan)
        first = measured[result.live_track_ids[0]] if result.live_track_ids else none
        true = truth.add(shot.time_s, vs.true_score(shot.heads[0]) if shot.heads else 0.0, tracker.parameters)
        rows.append({"time": shot.time_s, "phase": shot.phase, "score": first.score, "value": first.value,
                     "level": first.level, "true_score": true.score, "true_value": true.value,
                     "true_level": true.level, "track": result.live_track_ids[0] if result.live_track_ids else ""})
    pipeline.close()
    return rows


def changes(rows: list[dict], key: str) -> list[tuple[float, str]]:
    out, previous = [], None
    for row in rows:
        if row[key] != previous:
            out.append((row["time"], eg.LEVEL_NAMES[row[key]]))
            previous = row[key]
    return out


def per_face_cost_us(faces: int = 1, frames: int = 2000) -> float:
    """Return microseconds per face of EngagementTracker.update_frame with a full 2 s window at 30 Hz."""
    tracker = eg.EngagementTracker()
    ids = [f"face_{i}" for i in range(faces)]
    observations = [(track_id, np.array([0.1 * i, 0.0, 1.5]), np.array([0.0, 0.0, -1.0]))
                    for i, track_id in enumerate(ids)]
    clock = iter(np.arange(10**6) / 30.0)
    for _ in range(60):
        tracker.update_frame(observations, ids, next(clock))
    seconds = timeit.timeit(lambda: tracker.update_frame(observations, ids, next(clock)), number=frames)
    return seconds / frames / faces * 1e6


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    params = eg.EngagementParameters()
    t = [r["time"] for r in rows]
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True, height_ratios=[3, 2])
    top.plot(t, [r["score"] for r in rows], ".", color="0.6", markersize=4, label="score (measured, per frame)")
    top.plot(t, [r["value"] for r in rows], "-", color="tab:blue", label=f"window mean ({params.window_s:g} s)")
    top.plot(t, [r["true_value"] for r in rows], "--", color="tab:green", label="window mean of the true poses")
    for value, name in ((params.engaged_threshold, "engaged"), (params.engaging_threshold, "engaging")):
        top.axhline(value, color="tab:red", linewidth=0.8)
        top.axhline(value - params.hysteresis, color="tab:red", linewidth=0.8, linestyle=":")
        top.text(t[-1], value, f" {name}", va="center", fontsize=8, color="tab:red")
    top.set_ylabel("engagement score")
    top.set_ylim(-0.05, 1.05)
    top.legend(loc="upper left", fontsize=8)
    bottom.step(t, [r["level"] for r in rows], where="post", color="tab:blue", label="measured")
    bottom.step(t, [r["true_level"] for r in rows], where="post", color="tab:green", linestyle="--", label="true")
    bottom.set_yticks(list(eg.LEVEL_NAMES), [eg.LEVEL_NAMES[k] for k in eg.LEVEL_NAMES])
    bottom.set_xlabel("time (s)")
    bottom.legend(loc="upper right", fontsize=8)
    starts = {}
    for row in rows:
        starts.setdefault(row["phase"], row["time"])
    for axis in (top, bottom):
        for phase, start in starts.items():
            axis.axvline(start, color="0.8", linewidth=0.8)
    for phase, start in starts.items():
        top.text(start + 0.05, 1.0, phase, fontsize=8, va="top")
    figure.suptitle("Rendered visitor: approach from 4 m looking, talk, look away, leave (10 Hz)")
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plot", type=Path, help="write the score/state plot (PNG) here")
    args = parser.parse_args(argv)
    rows = run_scenario(vs.visitor())
    print("measured:", ", ".join(f"{t:.1f} s {name}" for t, name in changes(rows, "level")))
    print("true:    ", ", ".join(f"{t:.1f} s {name}" for t, name in changes(rows, "true_level")))
    print(f"EngagementTracker.update_frame: {per_face_cost_us(1):.1f} us per face (1 face), "
          f"{per_face_cost_us(5):.1f} us per face (5 faces)")
    if args.plot:
        plot(rows, args.plot)
        print(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
