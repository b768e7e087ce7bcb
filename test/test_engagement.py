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

"""The engagement state machine and the proxemic zones, driven without ROS."""
from __future__ import annotations

import math

import numpy as np
import pytest

from face_perception.interaction import engagement as eg
from face_perception.interaction.proxemics import ProxemicDistances, zone, zone_lists
from face_perception.parameters import ConfigError, PipelineConfig

PARAMETERS = eg.EngagementParameters()  # window 2 s, thresholds 0.25 / 0.5, hysteresis 0.05
# A person 1 m straight in front of the camera, looking into it: score 1.
IN_FRONT = np.array([0.0, 0.0, 1.0])
AT_CAMERA = np.array([0.0, 0.0, -1.0])


def run(scores: list[float], rate_hz: float, history: eg.ScoreHistory | None = None, start_s: float = 0.0,
        parameters: eg.EngagementParameters = PARAMETERS) -> list[tuple[float, int, float]]:
    """Feed scores at a frame rate; return (time, level, window mean) per frame."""
    history = history or eg.ScoreHistory()
    out = []
    for index, score in enumerate(scores):
        time_s = start_s + index / rate_hz
        result = history.add(time_s, score, parameters)
        out.append((time_s, result.level, result.value))
    return out


def transitions(trace: list[tuple[float, int, float]]) -> list[tuple[float, int]]:
    """Return (time, new level) at every change of level."""
    changes, previous = [], None
    for time_s, level, _ in trace:
        if level != previous:
            changes.append((time_s, level))
            previous = level
    return changes


def test_the_gaze_term_is_one_straight_on_and_zero_at_the_edge_of_the_field_of_view():
    axis = np.array([0.0, 0.0, 1.0])

    def turned(degrees: float) -> np.ndarray:
        return np.array([math.sin(math.radians(degrees)), 0.0, math.cos(math.radians(degrees))])

    assert eg.gaze_term(axis, axis, 60.0) == pytest.approx(1.0)
    assert eg.gaze_term(turned(15.0), axis, 60.0) == pytest.approx(0.75)  # 1 - (15/30)^2
    assert eg.gaze_term(turned(30.0), axis, 60.0) == pytest.approx(0.0, abs=1e-9)
    assert eg.gaze_term(turned(90.0), axis, 60.0) == 0.0
    assert eg.gaze_term(-axis, axis, 60.0) == 0.0
    assert eg.gaze_term(np.zeros(3), axis, 60.0) == 0.0  # no direction: no gaze


def test_the_distance_weight_is_flat_to_half_the_maximum_then_falls_to_zero():
    assert [eg.distance_weight(d, 4.0) for d in (0.5, 2.0, 3.0, 4.0, 6.0)] == pytest.approx([1, 1, 0.5, 0, 0])


def test_the_score_needs_mutual_gaze():
    assert eg.engagement_score(IN_FRONT, AT_CAMERA, PARAMETERS) == pytest.approx(1.0)
    # Looking 90 degrees away from the robot: nothing, whatever the distance.
    assert eg.engagement_score(IN_FRONT, np.array([1.0, 0.0, 0.0]), PARAMETERS) == 0.0
    # Looking at the camera from the side of the image, 20 degrees off the optical axis: the
    # robot does not look at them squarely (1 - (20/30)^2).
    side = 1.5 * np.array([math.sin(math.radians(20)), 0.0, math.cos(math.radians(20))])
    assert eg.engagement_score(side, -side, PARAMETERS) == pytest.approx(1 - (20 / 30) ** 2)
    # A robot looking elsewhere (reference frame turned away) sees no engagement.
    away = eg.RobotGaze(np.zeros(3), np.array([1.0, 0.0, 0.0]))
    assert eg.engagement_score(IN_FRONT, AT_CAMERA, PARAMETERS, away) == 0.0
    # Far: 3 m is half weight, 4 m and beyond none.
    assert eg.engagement_score(3 * IN_FRONT, AT_CAMERA, PARAMETERS) == pytest.approx(0.5)
    assert eg.engagement_score(4 * IN_FRONT, AT_CAMERA, PARAMETERS) == 0.0


@pytest.mark.parametrize("rate_hz", [10.0, 30.0])
def test_a_sustained_look_engages_and_a_look_away_disengages_with_the_delays_the_window_implies(rate_hz):
    dt = 1.0 / rate_hz
    trace = run([1.0] * int(4 * rate_hz), rate_hz)
    changes = transitions(trace)
    assert [level for _, level in changes] == [eg.DISENGAGED, eg.ENGAGING, eg.ENGAGED]
    # The mean of a step to 1 climbs as t / window: ENGAGING at 0.25 * 2 s, ENGAGED at 0.5 * 2 s.
    assert changes[1][0] == pytest.approx(0.5, abs=dt + 1e-9)
    assert changes[2][0] == pytest.approx(1.0, abs=dt + 1e-9)
    # Look away: the mean falls as 1 - t / window: DISENGAGING below 0.45 (after 1.1 s),
    # DISENGAGED below 0.2 (after 1.6 s).
    start = trace[-1][0] + dt
    away = transitions(run([0.0] * int(3 * rate_hz), rate_hz, history=_history_after(trace), start_s=start))
    assert [level for _, level in away] == [eg.ENGAGED, eg.DISENGAGING, eg.DISENGAGED]
    assert away[1][0] - start == pytest.approx(1.1, abs=dt + 1e-9)
    assert away[2][0] - start == pytest.approx(1.6, abs=dt + 1e-9)


def _history_after(trace) -> eg.ScoreHistory:
    """Return a history that has seen ``trace``'s scores (all 1) at its times."""
    history = eg.ScoreHistory()
    for time_s, _, _ in trace:
        history.add(time_s, 1.0, PARAMETERS)
    return history


def test_a_mean_hovering_at_a_threshold_does_not_flip_the_state():
    history = eg.ScoreHistory()
    run([1.0] * 60, 30.0, history)  # ENGAGED
    assert history.level == eg.ENGAGED
    # Scores alternating so that the mean sits between 0.46 and 0.5 for seconds: still ENGAGED
    # (it leaves only below 0.5 - 0.05).
    trace = run([0.48 + 0.02 * (-1) ** i for i in range(150)], 30.0, history, start_s=2.0)
    assert all(0.44 < value < 0.55 for _, _, value in trace[60:])
    assert {level for _, level, _ in trace} == {eg.ENGAGED}


def test_a_glance_makes_engaging_then_disengaged_never_engaged():
    trace = run([1.0] * 20 + [0.0] * 70, 30.0)  # 0.67 s look, then away
    assert [level for _, level in transitions(trace)] == [eg.DISENGAGED, eg.ENGAGING, eg.DISENGAGED]


def test_one_step_per_frame_even_when_the_mean_jumps():
    # A window so short that one frame's score is the whole mean: still DISENGAGED -> ENGAGING -> ENGAGED.
    short = eg.EngagementParameters(window_s=0.1)
    trace = run([1.0] * 10, 10.0, parameters=short)
    assert [level for _, level in transitions(trace)] == [eg.DISENGAGED, eg.ENGAGING, eg.ENGAGED]


def test_the_tracker_keeps_persons_apart_keeps_missed_tracks_and_forgets_dropped_ones():
    tracker = eg.EngagementTracker()
    side = np.array([0.2, 0.0, 1.5])
    results = {}
    for frame in range(45):  # 1.5 s at 30 Hz: a looks at the camera, b looks sideways
        results = tracker.update_frame([("a", IN_FRONT, AT_CAMERA), ("b", side, np.array([1.0, 0.0, 0.0]))],
                                       ["a", "b"], frame / 30.0)
    assert results["a"].level == eg.ENGAGED and results["b"].level == eg.DISENGAGED
    assert results["b"].score == 0.0 and results["a"].score == pytest.approx(1.0)
    # a missed for a few frames (still a live track): its level holds, no score.
    missed = tracker.update_frame([("b", side, np.array([1.0, 0.0, 0.0]))], ["a", "b"], 1.5)
    assert missed["a"].level == eg.ENGAGED and math.isnan(missed["a"].score)
    # A live track that never had a position (no camera_info, no keypoints): UNKNOWN.
    unknown = tracker.update_frame([("c", None, None)], ["a", "b", "c"], 1.6)
    assert unknown["c"].level == eg.UNKNOWN
    # a dropped (not live) then back under the same id: its history is gone, it starts again.
    tracker.update_frame([], ["b"], 1.7)
    again = tracker.update_frame([("a", IN_FRONT, AT_CAMERA)], ["a", "b"], 1.8)
    assert again["a"].level == eg.DISENGAGED and again["a"].value == 0.0


def test_parameters_change_at_run_time_and_keep_the_levels():
    tracker = eg.EngagementTracker()
    for frame in range(60):
        tracker.update_frame([("a", IN_FRONT, AT_CAMERA)], ["a"], frame / 30.0)
    assert tracker.levels() == {"a": eg.ENGAGED}
    # New thresholds and a shorter max distance apply from the next frame; the history is kept.
    tracker.set_parameters(eg.EngagementParameters(max_distance_m=1.2, engaged_threshold=0.9,
                                                   engaging_threshold=0.2))
    result = tracker.update_frame([("a", IN_FRONT, AT_CAMERA)], ["a"], 2.0)
    assert result["a"].score == pytest.approx(eg.distance_weight(1.0, 1.2))
    assert result["a"].level == eg.ENGAGED  # the mean is still ~1: one frame does not undo the window


@pytest.mark.parametrize(("values", "message"), [
    ({"engagement.engaging_threshold": 0.6}, "must be below 'engagement.engaged_threshold'"),
    ({"engagement.hysteresis": 0.3}, "'engagement.hysteresis' = 0.3 must be below"),
    ({"engagement.social_distance": 1.0}, "must increase"),
    ({"engagement.window": 0.0}, "'engagement.window' = 0.0 is outside"),
    ({"engagement.field_of_view": 200.0}, "'engagement.field_of_view' = 200.0 is outside"),
    ({"engagement.max_distance": "far"}, "'engagement.max_distance' = 'far' has type str"),
])
def test_bad_engagement_parameters_are_refused_naming_them(values, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        PipelineConfig.from_mapping(values)


def test_the_method_parameters_check_themselves_too():
    with pytest.raises(ValueError, match="engaging_threshold"):
        eg.EngagementParameters(engaging_threshold=0.5, engaged_threshold=0.5)
    with pytest.raises(ValueError, match="personal_distance"):
        ProxemicDistances(personal_m=4.0)


def test_proxemic_zones_follow_the_distances():
    distances = ProxemicDistances()
    assert [zone(d, distances) for d in (0.5, 1.2, 1.3, 3.6, 5.0, 7.6, 9.0, math.nan)] == [
        "personal", "personal", "social", "social", "public", "public", None, None]
    lists = zone_lists({"p1": (0.0, 0.0, 1.0), "p2": (1.0, 0.0, 2.0), "p3": (0.0, 0.0, 6.0), "p4": (0, 0, 20.0),
                        "p0": (0.0, 0.5, 0.6)}, distances)
    assert lists == {"personal": ["p0", "p1"], "social": ["p2"], "public": ["p3"]}
    # From another origin (a robot frame 1 m behind the camera).
    assert zone_lists({"p1": (0.0, 0.0, 1.0)}, distances, origin=(0.0, 0.0, -1.0))["social"] == ["p1"]


def test_the_frame_tree_gives_a_robot_frames_pose_in_the_camera_frame():
    from face_perception.geometry.frame_tree import FrameTree

    tree = FrameTree()
    # base_link at the root; the camera 1 m up, its optical frame turned as REP-103 has it
    # (z forward = base x, x right = base -y, y down = base -z).
    tree.set_transform("base_link", "camera_link", (0.0, 0.0, 1.0), (0.0, 0.0, 0.0, 1.0))
    tree.set_transform("camera_link", "camera_optical_frame", (0.0, 0.0, 0.0), (-0.5, 0.5, -0.5, 0.5))
    pose = tree.pose_in("base_link", "/camera_optical_frame")
    # The robot's origin is 1 m below the camera (optical +y) and it looks along optical +z.
    assert pose[:3, 3] == pytest.approx([0.0, 1.0, 0.0], abs=1e-9)
    assert pose[:3, 0] == pytest.approx([0.0, 0.0, 1.0], abs=1e-9)
    robot = eg.RobotGaze(pose[:3, 3], pose[:3, 0])
    # A person 2 m ahead at the camera's height looking at the camera: the robot's origin is
    # 1 m lower, so the person looks ~27 degrees above it and the robot ~27 degrees below them,
    # and it is sqrt(5) m away.
    person = np.array([0.0, 0.0, 2.0])
    expected = (1 - (math.degrees(math.atan2(1.0, 2.0)) / 30.0) ** 2) ** 2 * eg.distance_weight(math.sqrt(5), 4.0)
    assert eg.engagement_score(person, -person, PARAMETERS, robot) == pytest.approx(expected, rel=1e-6)
    with pytest.raises(LookupError, match="no transform connects"):
        tree.pose_in("map", "camera_optical_frame")
