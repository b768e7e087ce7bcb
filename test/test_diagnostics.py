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

"""The stream-health logic behind /diagnostics, driven without ROS (time passed in)."""
from __future__ import annotations

import numpy as np
import pytest

from face_perception.ros.diagnostics import (
    ERROR,
    MissedFrameEstimator,
    OK,
    PerCauseThrottle,
    RECENT_WINDOW_S,
    StreamHealth,
    WARN,
)
from face_perception.ros.image_conversion import check_pixel_count, compressed_image_size, ImageConversionError
from face_perception.ros.node_main import closest_names, init_error_text

PERIOD_NS = 100_000_000  # a 10 Hz camera


def feed(health: StreamHealth, start: float, seconds: float, rate: float = 10.0, stamp0_ns: int = 10**12) -> float:
    """Good frames at ``rate`` from ``start`` for ``seconds``; returns the time after the last."""
    count = int(seconds * rate)
    for index in range(count):
        now = start + index / rate
        health.add_received(now, stamp0_ns + int(now * 1e9), replaced_unprocessed=False)
        health.add_processed(now, 20.0, 1)
    return start + count / rate


def test_level_warns_before_the_first_image():
    report = StreamHealth(stale_after_s=2.0).report(now=100.0)
    assert report.level == WARN and "no images" in report.message
    assert report.values["seconds_since_last_image"] == "never"


def test_one_bad_frame_warns_only_within_the_recent_window_and_the_total_stays():
    health = StreamHealth(stale_after_s=2.0)
    now = feed(health, 0.0, 1.0)
    health.add_bad(now, "unsupported image encoding 'yuv422'")
    assert health.report(now + 0.05).level == WARN
    assert "yuv422" in health.report(now + 0.05).message
    later = feed(health, now, RECENT_WINDOW_S + 1.0)
    report = health.report(later)
    assert report.level == OK, report
    assert report.values["bad_frames"] == 1 and report.values["bad_frames_recent"] == 0
    assert report.values["frames_received"] == report.values["frames_processed"] == 10 + int((RECENT_WINDOW_S + 1) * 10)
    assert report.values["fps"] == pytest.approx(10.0, rel=0.05)


def test_a_silent_camera_goes_warn_then_error_then_back_to_ok():
    health = StreamHealth(stale_after_s=2.0)
    last = feed(health, 0.0, 2.0) - 0.1  # time of the last frame
    assert health.report(last + 0.5).level == OK
    warn = health.report(last + 1.5)
    assert warn.level == WARN and "no image for 1.5 s" in warn.message
    error = health.report(last + 2.5)
    assert error.level == ERROR and "diagnostics.stale_after 2 s" in error.message
    assert error.values["seconds_since_last_image"] == pytest.approx(2.5)
    resumed = feed(health, last + 10.0, 0.5)
    assert health.report(resumed).level == OK
    health.stale_after_s = 20.0  # changed at run time (ros2 param set)
    assert health.report(resumed + 5.0).level == OK


def test_missed_frames_are_estimated_from_stamp_gaps():
    estimator = MissedFrameEstimator()
    stamp = 10**12
    for _ in range(20):
        stamp += PERIOD_NS
        estimator.add(stamp)
    assert estimator.missed == 0
    stamp += 4 * PERIOD_NS  # three frames lost in transport
    estimator.add(stamp)
    assert estimator.missed == 3
    for _ in range(5):
        stamp += PERIOD_NS
        estimator.add(stamp)
    stamp += int(1.2 * PERIOD_NS)  # jitter is not a loss
    estimator.add(stamp)
    # A late frame and the catch-up burst after it: nothing lost.
    stamp += int(3.1 * PERIOD_NS)
    estimator.add(stamp)
    for _ in range(2):
        stamp += PERIOD_NS // 20
        estimator.add(stamp)
    stamp += 60 * 10**9  # a paused camera is stale, not lossy
    estimator.add(stamp)
    estimator.add(0)  # unstamped frames are ignored
    assert estimator.missed == 3


@pytest.mark.parametrize("stall_probability", [0.02, 0.05])
def test_missed_frame_estimate_stays_close_on_a_jittery_lossy_stream(stall_probability):
    # A 30 Hz publisher on a busy machine: jitter, stalls followed by catch-up bursts of
    # frames stamped almost at once, and 30% of the frames lost in transport. (A first
    # version let the period collapse under such bursts and counted millions in a soak.)
    rng = np.random.default_rng(0)
    period = 33_333_333
    estimator = MissedFrameEstimator()
    now, lost, backlog = 10**12, 0, 0
    for _ in range(6000):
        if backlog == 0 and rng.random() < stall_probability:
            stall = int(rng.integers(2, 20))
            now += stall * period  # nothing published meanwhile, then the backlog at once
            backlog = stall
        if backlog:
            now += 100_000
            backlog -= 1
        else:
            now += period + int(rng.normal(0, 2_000_000))
        if rng.random() < 0.3:
            lost += 1
            continue
        estimator.add(now)
    assert abs(estimator.missed - lost) < 0.1 * lost, (estimator.missed, lost)


def test_missed_frame_estimate_follows_a_rate_change():
    estimator = MissedFrameEstimator()
    stamp = 10**12
    for period in (PERIOD_NS, 3 * PERIOD_NS):  # 10 Hz, then the camera is set to 3.3 Hz
        for _ in range(200):
            stamp += period
            estimator.add(stamp)
    assert estimator.missed <= 2 * 30  # only while the new rate is being learnt


def test_missed_frame_estimate_is_a_diagnostics_value():
    health = StreamHealth(stale_after_s=2.0)
    for index in list(range(10)) + list(range(15, 20)):  # frames 10..14 never arrive
        health.add_received(index * 0.1, 10**12 + index * PERIOD_NS, replaced_unprocessed=False)
    assert health.report(2.0).values["frames_missed_estimate"] == 5


def test_bad_frame_warnings_are_throttled_per_cause_not_globally():
    throttle = PerCauseThrottle(interval_s=5.0)
    reasons = [f"cause {letter}: image data has {n} bytes" for letter in "abcdefghijkl" for n in (10, 11)]
    admitted = [reason for reason in reasons if throttle.admit(reason, now=1.0) is not None]
    # Twelve causes, each logged once; its second line (other numbers, same cause) held back.
    assert len(admitted) == 12 and {r.split(":")[0] for r in admitted} == {f"cause {c}" for c in "abcdefghijkl"}
    assert throttle.admit("cause a: image data has 99 bytes", now=3.0) is None
    assert throttle.admit("cause a: image data has 12 bytes", now=6.5) == 2  # two held back since


def test_max_image_pixels_is_checked_on_the_header_fields():
    check_pixel_count(4096, 4096, 4096 * 4096)
    with pytest.raises(ImageConversionError, match="7680x4320 .*max_image_pixels 16777216"):
        check_pixel_count(7680, 4320, 4096 * 4096)


def test_compressed_image_size_is_read_from_the_header_without_decoding():
    import cv2

    image = np.zeros((70, 130, 3), np.uint8)
    for extension in (".png", ".jpg"):
        ok, encoded = cv2.imencode(extension, image)
        assert ok
        assert compressed_image_size(encoded.tobytes()) == (130, 70), extension
    assert compressed_image_size(b"GIF89a....") is None


def test_unknown_parameter_names_get_the_closest_known_name():
    known = ["detection.scale_factor", "detection.min_neighbors", "max_faces", "image_topic"]
    assert closest_names(["detection.scalefactor", "max_face", "zzz"], known) == {
        "detection.scalefactor": "detection.scale_factor",
        "max_face": "max_faces",
        "zzz": None,
    }


def test_init_error_text_keeps_the_useful_part_of_rcl_errors():
    missing = RuntimeError("failed to initialize rcl: Couldn't parse params file: '--params-file /nope.yaml'. "
                           "Error: Error opening YAML file, at ./src/parser.c:270")
    assert init_error_text(missing).endswith("'--params-file /nope.yaml'. Error: Error opening YAML file")
    empty = RuntimeError("failed to initialize rcl: Couldn't parse parameter override rule: '-p image_topic:='. "
                         "Error: error not set")
    assert init_error_text(empty) == (
        "failed to initialize rcl: Couldn't parse parameter override rule: '-p image_topic:='")
