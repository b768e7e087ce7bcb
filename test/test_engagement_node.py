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
Persons and engagement from the node, with real messages: rendered visitors played as a camera.

The rendered heads (face_perception.bringup.visitor_scenario) go to a PerceptionNode as
sensor_msgs/Image + CameraInfo; the checks read /humans/persons/tracked, each person's
engagement_status, the proxemic lists and FaceAttributes.engagement_level. The expected
timing comes from the same method run on the heads' true poses.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

try:  # scripts/setup_env.sh --dev builds hri_msgs where ../shared/ros2/src/hri_msgs exists (CI does)
    from engagement_graph import change_times, collapsed, EngagementGraph, wait_for
    from hri_msgs.msg import EngagementLevel
except ImportError:
    EngagementGraph = None
from face_perception.bringup import visitor_scenario as vs
from face_perception.interaction import engagement as eg

pytestmark = pytest.mark.skipif(EngagementGraph is None, reason="hri_msgs is not installed")
UNKNOWN, DISENGAGED, ENGAGING, ENGAGED, DISENGAGING = range(5)
# Head pose and gaze are smoothed over the track (One-Euro) and measured with some error: a
# state may come this much after (or before) the one the true poses give.
TOLERANCE_S = 0.6


@pytest.fixture(scope="module")
def parameters(model_dir: Path) -> dict:
    return {
        "classification.emotion_model": str(model_dir / "emotion.tflite"),
        "classification.gender_model": str(model_dir / "gender.tflite"),
        "classification.age_model": "none",
        "hri.enabled": True,
        "detection.backend": "blazeface",
    }


@pytest.fixture
def graph(parameters):
    graphs = []

    def start(extra: dict | None = None, camera_info: bool = True) -> "EngagementGraph":
        graphs.append(EngagementGraph({**parameters, **(extra or {})}, camera_info))
        return graphs[-1]

    yield start
    for started in graphs:
        started.stop()


def rendered(shots: list[vs.Shot]):
    return [vs.render_shot(shot) for shot in shots]


@pytest.fixture(scope="module")
def visitor_shots():
    shots = vs.visitor()
    return shots, rendered(shots)


def expected_changes(frames) -> dict[int, float]:
    """Return level -> when the method enters it on the true poses, from the first frame the node tracked."""
    history, times, levels = eg.ScoreHistory(), [], []
    tracked = [f for f in frames if f.persons]
    for frame in frames[frames.index(tracked[0]):]:
        score = vs.true_score(frame.shot.heads[0]) if frame.shot.heads else 0.0
        levels.append(history.add(frame.shot.time_s, score, eg.EngagementParameters()).level)
        times.append(frame.shot.time_s)
    return change_times(times, levels)


def test_a_visitor_engages_then_disengages_with_the_delays_of_the_window(graph, visitor_shots):
    shots, images = visitor_shots
    node_graph = graph()
    frames = node_graph.play(shots, images)
    persons = {p for f in frames for p in f.persons}
    # One anonymous person while the face is tracked (it leaves the frame at the end).
    first = next(p for f in frames for p in f.persons)
    assert first.startswith("anon_"), persons
    tracked = [f for f in frames if first in f.persons]
    assert tracked[0].shot.phase == "approach" and tracked[-1].shot.phase in ("look away", "leave")
    levels = [f.levels[first] for f in tracked if first in f.levels]
    assert len(levels) >= len(tracked) - 3  # every frame's status, but maybe the first ones before subscribing
    order = collapsed(levels)
    assert order[order.index(DISENGAGED):] == [DISENGAGED, ENGAGING, ENGAGED, DISENGAGING, DISENGAGED], order
    # FaceAttributes carries the same level for the face.
    for frame in tracked:
        if frame.attributes.faces and first in frame.levels:
            assert frame.attributes.faces[0].engagement_level == frame.levels[first]
    # The delays: as the method gives on the true poses, within the smoothing's lag.
    times = [f.shot.time_s for f in tracked if first in f.levels]
    measured, expected = change_times(times, levels), expected_changes(frames)
    for level in (ENGAGING, ENGAGED, DISENGAGING, DISENGAGED):
        assert abs(measured[level] - expected[level]) <= TOLERANCE_S, (eg.LEVEL_NAMES[level], measured, expected)
    # Leaving the look-away starts DISENGAGING about (1 - 0.45) x the 2 s window after the head turns.
    assert 6.0 + 0.8 <= measured[DISENGAGING] <= 6.0 + 1.1 + TOLERANCE_S
    # Proxemics: social space while approaching (beyond 1.2 m), personal while talking at 0.9 m.
    talk = [f for f in tracked if f.shot.phase == "talk"]
    assert all(f.zones["personal"] == [first] and not f.zones["social"] for f in talk)
    assert any(f.zones["social"] == [first] for f in tracked if f.shot.phase == "approach")


def test_a_passer_by_who_never_looks_never_becomes_engaged(graph):
    shots = vs.passer_by()
    frames = graph().play(shots, rendered(shots))
    seen = [f for f in frames if f.attributes.faces]
    assert len(seen) >= len(frames) // 2, "the passer-by must be tracked for the check to mean anything"
    assert all(face.engagement_level in (UNKNOWN, DISENGAGED, ENGAGING) for f in seen for face in f.attributes.faces)
    assert all(level != ENGAGED for f in frames for level in f.levels.values())


def test_two_persons_at_once_are_independent(graph):
    shots = vs.two_persons()
    frames = graph().play(shots, rendered(shots))
    last = frames[-1]
    assert len(last.persons) == 2 and len(last.attributes.faces) == 2
    by_x = sorted(last.attributes.faces, key=lambda face: face.bbox.x_offset)
    looking, away = by_x[0], by_x[1]  # the left one looks at the robot
    assert looking.engagement_level == ENGAGED and away.engagement_level == DISENGAGED
    assert sorted(last.levels.values()) == [DISENGAGED, ENGAGED]


def test_a_track_lost_briefly_keeps_its_history_and_one_lost_for_long_starts_again(graph):
    shots = vs.lost_and_found()
    # tracking.max_missed_frames 5 at 10 Hz: a 0.3 s gap keeps the track, a 2 s gap drops it.
    frames = graph({"tracking.max_missed_frames": 5}).play(shots, rendered(shots))
    first = next(p for f in frames for p in f.persons)
    before_gap = [f for f in frames if f.shot.phase == "look"][:30]
    assert before_gap[-1].levels[first] == ENGAGED
    # The short gap: the same person, still ENGAGED (the level holds while the track is missed).
    short = [f for f in frames if f.shot.phase == "short gap"]
    assert all(f.persons == [first] and f.levels[first] == ENGAGED for f in short)
    after_short = [f for f in frames if f.shot.phase == "look"][30:]
    assert all(f.persons == [first] and f.levels[first] == ENGAGED for f in after_short)
    # The long gap drops the track: the person goes; back, a new person starts from DISENGAGED
    # and needs the window again (ENGAGED after about 0.5 x 2 s).
    assert not frames[[f.shot.phase for f in frames].index("back") - 1].persons
    back = [f for f in frames if f.shot.phase == "back" and f.persons]
    second = back[0].persons[0]
    assert second != first
    levels = [f.levels[second] for f in back if second in f.levels]
    assert collapsed(levels)[:3] == [DISENGAGED, ENGAGING, ENGAGED] or collapsed(levels)[:2] == [ENGAGING, ENGAGED]
    engaged_at = next(f.shot.time_s for f in back if f.levels.get(second) == ENGAGED)
    assert engaged_at - back[0].shot.time_s >= 0.8


def test_without_camera_info_every_level_is_unknown_said_once(graph, visitor_shots, capfd):
    shots, images = visitor_shots
    talk = [i for i, s in enumerate(shots) if s.phase == "talk"][:4]
    node_graph = graph(camera_info=False)
    frames = node_graph.play([shots[i] for i in talk], [images[i] for i in talk])
    assert all(f.persons and set(f.levels.values()) == {UNKNOWN} for f in frames[1:])
    assert all(face.engagement_level == UNKNOWN for f in frames for face in f.attributes.faces)
    log = capfd.readouterr().err
    assert log.count("engagement is UNKNOWN: no camera_info received yet") == 1, log


def test_engagement_parameters_change_at_run_time_and_bad_ones_are_refused(graph):
    from rclpy.parameter import Parameter

    node = graph().node
    result = node.set_parameters_atomically([Parameter("engagement.window", value=1.0),
                                             Parameter("engagement.engaged_threshold", value=0.6)])
    assert result.successful, result.reason
    assert node._engagement.tracker.parameters.window_s == 1.0
    refused = node.set_parameters_atomically([Parameter("engagement.engaging_threshold", value=0.7)])
    assert not refused.successful and "must be below 'engagement.engaged_threshold' = 0.6" in refused.reason
    refused = node.set_parameters_atomically([Parameter("engagement.enabled", value=False)])
    assert not refused.successful and "read at start-up only" in refused.reason
    assert wait_for(lambda: node._engagement.tracker.parameters.engaged_threshold == 0.6)
    assert EngagementLevel.ENGAGED == eg.ENGAGED  # our levels are hri_msgs' numbers


# camera_optical_frame in base_link (REP-103): the optical axis along base_link's +x, or along its
# -x (the same frame turned half round base_link's z axis); quaternions (x, y, z, w).
OPTICAL_FORWARD = (-0.5, 0.5, -0.5, 0.5)
OPTICAL_BACKWARD = (-0.5, -0.5, 0.5, 0.5)


@pytest.mark.parametrize("robot_looks, engages", [("at the visitor", True), ("away, behind the camera", False)])
def test_the_robots_gaze_comes_from_the_reference_frame_over_tf(graph, visitor_shots, capfd, robot_looks, engages):
    """
    A ``reference_frame`` on /tf_static: UNKNOWN until it is known, then the frame's x axis is the gaze.

    The camera sits on the robot's base_link. Facing forward (optical axis = base_link's x) the
    visitor looking into the camera engages it; with base_link turned round (its x axis pointing
    out of the back of the camera) the same looks are not mutual and never engage.
    """
    from geometry_msgs.msg import TransformStamped
    from tf2_msgs.msg import TFMessage

    from face_perception.ros.engagement import TF_STATIC_QOS

    shots, images = visitor_shots
    chosen = [i for i, s in enumerate(shots) if s.phase == "approach"][-10:] + \
        [i for i, s in enumerate(shots) if s.phase == "talk"]
    node_graph = graph({"engagement.reference_frame": "base_link"})
    before = node_graph.play([shots[i] for i in chosen[:4]], [images[i] for i in chosen[:4]])
    assert all(set(f.levels.values()) <= {UNKNOWN} for f in before)
    assert any(f.levels for f in before), "the persons must be published for the check to mean anything"
    log = capfd.readouterr().err
    assert log.count("engagement is UNKNOWN") == 1 and "base_link" in log and "(engagement.reference_frame)" in log, log

    transform = TransformStamped()
    transform.header.frame_id, transform.child_frame_id = "base_link", "camera_optical_frame"
    q = OPTICAL_FORWARD if engages else OPTICAL_BACKWARD
    (transform.transform.rotation.x, transform.transform.rotation.y, transform.transform.rotation.z,
     transform.transform.rotation.w) = q
    publisher = node_graph.probe.create_publisher(TFMessage, "/tf_static", TF_STATIC_QOS)
    publisher.publish(TFMessage(transforms=[transform]))
    engagement = node_graph.node._engagement
    assert wait_for(lambda: engagement.robot_gaze("camera_optical_frame") is not None)
    gaze = engagement.robot_gaze("camera_optical_frame")
    # base_link's x axis seen from the camera: the optical axis, or straight back out of the camera.
    np.testing.assert_allclose(gaze.direction, [0.0, 0.0, 1.0 if engages else -1.0], atol=1e-9)

    after = node_graph.play([shots[i] for i in chosen[4:]], [images[i] for i in chosen[4:]])
    levels = [level for f in after for level in f.levels.values()]
    assert levels and UNKNOWN not in levels
    if engages:
        assert levels[-1] == ENGAGED, collapsed(levels)
    else:
        assert ENGAGED not in levels and levels[-1] == DISENGAGED, collapsed(levels)
