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

"""The perception node in a real rclpy graph: publish images, receive its outputs."""
from __future__ import annotations

import importlib.util
import math
import os
from pathlib import Path
import subprocess
import sys

import cv2
from face_perception_msgs.msg import FaceAttributes
import numpy as np
import pytest
import rclpy
from rclpy.parameter import Parameter
from sensor_msgs.msg import CompressedImage

from conftest import wait_for
from face_perception.parameters import HRI_AGGREGATOR_PARAMETERS, IMAGE_SOURCE_PARAMETERS, PARAMETERS
from face_perception.ros import ros_messages
from face_perception.ros.hri_aggregator_node import HriAggregatorNode
from face_perception.ros.image_source_node import ImageSourceNode
from face_perception.ros.perception_node import PerceptionNode, StartupError
from face_perception.ros.ros_parameters import parameter_descriptor
from ros_helpers import image_message

pytestmark = pytest.mark.ros

ROOT = Path(__file__).resolve().parent.parent


def test_face_image_gives_one_face_with_the_input_header(ros_graph, astronaut_bgr):
    node, probe = ros_graph()
    header = probe.header()
    probe.image_pub.publish(image_message(astronaut_bgr, header))
    assert wait_for(lambda: probe.attributes_for(header) is not None)
    message = probe.attributes_for(header)
    assert message.header == header
    assert len(message.faces) == 1
    face = message.faces[0]
    assert face.track_id
    assert 140 < face.bbox.x_offset + face.bbox.width / 2 < 260 and 60 < face.bbox.y_offset + face.bbox.height / 2 < 170
    assert abs(sum(face.emotion_probabilities) - 1.0) < 1e-4
    assert abs(sum(face.emotion_probabilities_raw) - 1.0) < 1e-4
    assert face.emotion in ros_messages.MESSAGE_EMOTION_ORDER
    assert face.emotion_confidence == pytest.approx(max(face.emotion_probabilities), abs=1e-6)
    assert face.gender in (FaceAttributes.GENDER_FEMALE, FaceAttributes.GENDER_MALE, FaceAttributes.GENDER_UNKNOWN)
    assert 0.0 <= face.gender_female_probability <= 1.0

    # The annotated image and the detections carry the same header.
    assert wait_for(lambda: any(m.header == header for m in probe.annotated))
    assert wait_for(lambda: any(m.header == header for m in probe.detections))
    annotated = next(m for m in probe.annotated if m.header == header)
    assert (annotated.width, annotated.height) == (astronaut_bgr.shape[1], astronaut_bgr.shape[0])
    detections = next(m for m in probe.detections if m.header == header)
    assert len(detections.detections) == 1
    detection = detections.detections[0]
    assert detection.id == face.track_id
    classes = {r.hypothesis.class_id: r.hypothesis.score for r in detection.results}
    assert set(classes) == {f"emotion/{label}" for label in ros_messages.MESSAGE_EMOTION_ORDER} | {
        "gender/female",
        "gender/male",
    }
    assert classes["gender/female"] + classes["gender/male"] == pytest.approx(1.0, abs=1e-4)


def test_background_detection_node_finds_the_face_within_a_few_frames(ros_graph, astronaut_bgr):
    node, probe = ros_graph({"detection.background": True, "detection.redetect_interval": 3})
    counts = []
    for _ in range(6):
        header = probe.header()
        probe.image_pub.publish(image_message(astronaut_bgr, header))
        assert wait_for(lambda: probe.attributes_for(header) is not None)
        counts.append(len(probe.attributes_for(header).faces))
        # The full-frame detection runs beside the frames: let it finish before the next one.
        assert node._pipeline.wait_for_background_detection(timeout=10.0)  # noqa: SLF001 - test hook
    # The first frame only starts the full-frame search; from then on the face is tracked.
    assert counts[0] == 0 and counts[-3:] == [1, 1, 1], counts


def test_face_free_image_gives_an_empty_array_not_silence(ros_graph):
    node, probe = ros_graph()
    header = probe.header()
    probe.image_pub.publish(image_message(np.full((240, 320, 3), 90, np.uint8), header))
    assert wait_for(lambda: probe.attributes_for(header) is not None)
    assert probe.attributes_for(header).faces == []


@pytest.mark.parametrize("encoding", ["rgb8", "mono16"])
def test_other_encodings_find_the_same_face(ros_graph, astronaut_bgr, encoding):
    node, probe = ros_graph()
    header = probe.header()
    probe.image_pub.publish(image_message(astronaut_bgr, header, encoding))
    assert wait_for(lambda: probe.attributes_for(header) is not None)
    assert len(probe.attributes_for(header).faces) == 1


def test_bad_frames_are_logged_skipped_and_the_next_good_frame_is_processed(ros_graph, astronaut_bgr):
    node, probe = ros_graph()
    bad = []
    unknown = image_message(astronaut_bgr, probe.header())
    unknown.encoding = "yuv422_yuy2"
    bad.append(unknown)
    empty = image_message(astronaut_bgr, probe.header())
    empty.data = b""
    bad.append(empty)
    short_step = image_message(astronaut_bgr, probe.header())
    short_step.step = astronaut_bgr.shape[1] * 3 - 1
    bad.append(short_step)
    for message in bad:
        probe.image_pub.publish(message)
        # One at a time, so that none is dropped as "replaced by a newer frame".
        assert wait_for(lambda: node.statistics["bad_frames"] >= bad.index(message) + 1)
    good_header = probe.header()
    probe.image_pub.publish(image_message(astronaut_bgr, good_header))
    assert wait_for(lambda: probe.attributes_for(good_header) is not None)
    assert len(probe.attributes_for(good_header).faces) == 1
    assert all(probe.attributes_for(message.header) is None for message in bad)
    statistics = node.statistics
    assert statistics["bad_frames"] == 3
    assert "step" in statistics["last_error"]
    # Diagnostics report the skipped frames.
    assert wait_for(
        lambda: any(
            kv.key == "bad_frames" and kv.value == "3" for m in probe.diagnostics for s in m.status for kv in s.values
        ),
        timeout=5.0,
    )


def test_compressed_images_when_configured(ros_graph, astronaut_bgr):
    node, probe = ros_graph({"use_compressed": True})
    header = probe.header()
    ok, jpeg = cv2.imencode(".jpg", astronaut_bgr)
    assert ok
    probe.compressed_pub.publish(CompressedImage(header=header, format="jpeg", data=jpeg.tobytes()))
    assert wait_for(lambda: probe.attributes_for(header) is not None)
    assert len(probe.attributes_for(header).faces) == 1


def test_overload_processes_the_newest_frame_and_counts_drops(ros_graph, astronaut_bgr):
    node, probe = ros_graph()
    headers = [probe.header() for _ in range(15)]
    for header in headers:
        probe.image_pub.publish(image_message(astronaut_bgr, header))
    assert wait_for(lambda: probe.attributes_for(headers[-1]) is not None)
    assert wait_for(lambda: node.statistics["frames_processed"] + node.statistics["frames_dropped"]
                    == node.statistics["frames_received"])
    statistics = node.statistics
    assert statistics["frames_received"] >= 2
    processed = [h for h in headers if probe.attributes_for(h) is not None]
    assert len(processed) == statistics["frames_processed"]
    assert statistics["frames_dropped"] == statistics["frames_received"] - len(processed)


def test_invalid_parameter_updates_are_refused_with_the_reason(ros_graph):
    node, probe = ros_graph()
    result = node.set_parameters([Parameter("detection.max_width", value=100)])[0]
    assert not result.successful and "detection.max_width" in result.reason
    result = node.set_parameters([Parameter("classification.emotion_model", value="/nonexistent/emotion.tflite")])[0]
    assert not result.successful and "/nonexistent/emotion.tflite" in result.reason
    result = node.set_parameters([Parameter("image_topic", value="/other")])[0]
    assert not result.successful and "start-up" in result.reason
    result = node.set_parameters([Parameter("detection.max_width", value=0)])[0]
    assert result.successful
    assert node.get_parameter("detection.max_width").value == 0


# Parameters rclpy declares on every node.
ROS_OWN_PARAMETERS = {"use_sim_time", "start_type_description_service"}


def declared_parameters(node) -> dict:
    """Return name -> descriptor of every parameter a node declared, but ROS's own."""
    names = [name for name in node.list_parameters([], 0).names if name not in ROS_OWN_PARAMETERS]
    return dict(zip(names, node.describe_parameters(names)))


def expected_descriptors(specs) -> dict:
    expected = {}
    for spec in specs:
        expected[spec.name] = parameter_descriptor(spec)
        expected[spec.name].name = spec.name
    return expected


def test_the_node_declares_exactly_its_parameter_table(ros_graph):
    node, probe = ros_graph()
    assert declared_parameters(node) == expected_descriptors(PARAMETERS)
    # Run-time changeability from the same table: start-up-only ones are refused, the others applied.
    for spec in PARAMETERS:
        result = node.set_parameters([Parameter(spec.name, value=spec.default)])[0]
        if spec.startup_only:
            assert not result.successful and "read at start-up only" in result.reason, spec.name
    assert node.set_parameters([Parameter("head_pose.min_cutoff", value=0.5)])[0].successful
    assert node._pipeline.config.head_pose.min_cutoff == 0.5  # reaches the pipeline's pose smoothing


def test_the_image_source_declares_exactly_its_parameter_table():
    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        source = ImageSourceNode(context=context)
        assert declared_parameters(source) == expected_descriptors(IMAGE_SOURCE_PARAMETERS)
        source.destroy_node()
    finally:
        rclpy.shutdown(context=context)


@pytest.mark.skipif(importlib.util.find_spec("hri_msgs") is None, reason="hri_msgs is not installed")
def test_the_hri_aggregator_declares_exactly_its_parameter_table():
    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        aggregator = HriAggregatorNode(context=context, parameter_overrides=[
            Parameter("tracked_topics", value=["/front/humans/faces/tracked", "/rear/humans/faces/tracked"])])
        assert declared_parameters(aggregator) == expected_descriptors(HRI_AGGREGATOR_PARAMETERS)
        # Read-only: ROS itself refuses a change.
        assert not aggregator.set_parameters([Parameter("source_timeout", value=5.0)])[0].successful
        aggregator.destroy_node()
    finally:
        rclpy.shutdown(context=context)


def test_mouth_and_gaze_fields_follow_the_face_mesh(ros_graph, astronaut_bgr):
    node, probe = ros_graph({"detection.backend": "blazeface"})
    header = probe.header()
    probe.image_pub.publish(image_message(astronaut_bgr, header))
    assert wait_for(lambda: probe.attributes_for(header) is not None)
    face = probe.attributes_for(header).faces[0]
    # The probe subscribes to /faces/attributes, so the mesh ran: she smiles with her teeth apart.
    assert 0.05 < face.mouth_open < 0.4
    # No camera_info: no head pose, so no gaze.
    assert math.isnan(face.gaze_direction.x) and math.isnan(face.gaze_angle_to_camera)
    assert not face.looking_at_camera
    assert not node.set_parameters([Parameter("gaze.looking_at_camera_deg", value=0.5)])[0].successful
    assert node.set_parameters([Parameter("gaze.looking_at_camera_deg", value=20.0)])[0].successful
    # Without the mesh: NaN, never a stale or made-up value.
    assert node.set_parameters([Parameter("face_mesh.enabled", value=False)])[0].successful
    header = probe.header()
    probe.image_pub.publish(image_message(astronaut_bgr, header))
    assert wait_for(lambda: probe.attributes_for(header) is not None)
    assert math.isnan(probe.attributes_for(header).faces[0].mouth_open)


def test_detection_backend_switch_at_run_time_keeps_the_track(ros_graph, astronaut_bgr):
    node, probe = ros_graph()
    result = node.set_parameters([Parameter("detection.backend", value="cnn")])[0]
    assert not result.successful and "detection.backend" in result.reason and "'cnn'" in result.reason
    ids = []
    for backend in ("haar", "blazeface", "yunet", "blazeface", "haar"):
        assert node.set_parameters([Parameter("detection.backend", value=backend)])[0].successful
        header = probe.header()
        probe.image_pub.publish(image_message(astronaut_bgr, header))
        assert wait_for(lambda: probe.attributes_for(header) is not None)
        ids.extend(face.track_id for face in probe.attributes_for(header).faces)
    assert len(ids) == 5 and len(set(ids)) == 1, ids
    # A YuNet model file that cannot be loaded is refused, naming it; the node keeps its detector.
    result = node.set_parameters_atomically([Parameter("detection.backend", value="yunet"),
                                             Parameter("detection.yunet_model", value="/nonexistent/yunet.onnx")])
    assert not result.successful and "/nonexistent/yunet.onnx" in result.reason
    assert node.get_parameter("detection.backend").value == "haar"


@pytest.mark.parametrize(
    "overrides, named",
    [
        ({"detection.scale_factor": 0.5}, "detection.scale_factor"),
        ({"detection.max_width": 100}, "detection.max_width"),
        ({"image_topic": "camera image"}, "image_topic"),
        ({"diagnostics_period": 0.0}, "diagnostics_period"),
        ({"classification.gender_model": "/nonexistent/gender.tflite"}, "/nonexistent/gender.tflite"),
        ({"detection.backend": "yolo"}, "detection.backend' = 'yolo"),
    ],
)
def test_bad_start_up_configuration_is_refused_naming_it(model_parameters, overrides, named):
    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        parameters = {**model_parameters, **overrides}
        with pytest.raises(StartupError, match=named.replace(".", r"\.")):
            PerceptionNode(context=context, parameter_overrides=[Parameter(k, value=v) for k, v in parameters.items()])
    finally:
        rclpy.shutdown(context=context)


def test_node_process_exits_with_a_message_naming_the_missing_model(model_parameters):
    arguments = ["--ros-args", "-p", "classification.emotion_model:=/nonexistent/emotion.tflite"]
    for name, value in model_parameters.items():
        if name != "classification.emotion_model":
            arguments += ["-p", f"{name}:={value}"]
    completed = subprocess.run(
        [sys.executable, "-m", "face_perception.ros.perception_node", *arguments],
        capture_output=True, text=True, timeout=60, env={**os.environ},
    )
    assert completed.returncode == 1
    assert "/nonexistent/emotion.tflite" in completed.stderr + completed.stdout
    assert "Traceback" not in completed.stderr


def test_node_runtime_never_imports_tensorflow(model_parameters, astronaut_bgr):
    # A robot's node venv has no TensorFlow: the node must run on LiteRT alone.
    script = (
        "import sys, rclpy\n"
        "from rclpy.parameter import Parameter\n"
        "from face_perception.ros.perception_node import PerceptionNode\n"
        "from face_perception.ros.demo_frames import load_demo_image\n"
        "rclpy.init()\n"
        f"node = PerceptionNode(parameter_overrides=[Parameter(k, value=v) for k, v in {model_parameters!r}.items()])\n"
        "result = node._pipeline.process(load_demo_image())\n"
        "assert len(result.faces) == 1, result\n"
        "node.destroy_node(); rclpy.shutdown()\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras'))\n"
        "print('LOADED', loaded)\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert "LOADED []" in completed.stdout
