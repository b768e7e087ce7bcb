"""The ROS 2 node: a thin shell over :class:`face_perception.pipeline.FacePerceptionPipeline`.

Subscribes:  image_topic (sensor_msgs/Image, or sensor_msgs/CompressedImage on
             <image_topic>/compressed when use_compressed is true), sensor-data QoS.
Publishes:   /faces/attributes        face_perception_msgs/FaceAttributesArray (every frame)
             /faces/annotated_image   sensor_msgs/Image (boxes, ids, labels; same header)
             /faces/detections        vision_msgs/Detection2DArray
             /diagnostics             diagnostic_msgs/DiagnosticArray
             /humans/faces/...        ROS4HRI (REP-155) face topics, with hri.enabled
                                      (face_perception.hri_output)

Frames are never queued: the subscription keeps only the newest frame, a worker thread
processes it, and frames replaced before they were processed are counted as dropped.
"""
from __future__ import annotations

import sys
import threading
import time
from collections import deque

import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from face_perception_msgs.msg import FaceAttributesArray
from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
    ParameterType,
    SetParametersResult,
)
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CompressedImage, Image
from vision_msgs.msg import Detection2DArray

from face_perception import ros_messages
from face_perception.annotation import draw_annotations
from face_perception.image_conversion import ImageConversionError
from face_perception.node_main import run_node
from face_perception.parameters import PARAMETERS, ConfigError, ParameterSpec, PipelineConfig, validate_value
from face_perception.pipeline import FacePerceptionPipeline

NODE_NAME = "face_perception"
ATTRIBUTES_TOPIC = "/faces/attributes"
ANNOTATED_TOPIC = "/faces/annotated_image"
DETECTIONS_TOPIC = "/faces/detections"
DIAGNOSTICS_TOPIC = "/diagnostics"

_ROS_TYPES = {
    bool: ParameterType.PARAMETER_BOOL,
    int: ParameterType.PARAMETER_INTEGER,
    float: ParameterType.PARAMETER_DOUBLE,
    str: ParameterType.PARAMETER_STRING,
}

# Node-level parameters (the pipeline's own come from face_perception.parameters).
NODE_PARAMETERS: tuple[ParameterSpec, ...] = (
    ParameterSpec("image_topic", "/camera/image_raw", str, "sensor_msgs/Image topic to watch (read at start-up)"),
    ParameterSpec(
        "use_compressed",
        False,
        bool,
        "subscribe to sensor_msgs/CompressedImage on <image_topic>/compressed instead (read at start-up)",
    ),
    ParameterSpec("publish_annotated_image", True, bool, "draw and publish /faces/annotated_image"),
    ParameterSpec("diagnostics_period", 1.0, float, "seconds between /diagnostics messages (read at start-up)", 0.1, 60.0),
    ParameterSpec(
        "hri.enabled",
        False,
        bool,
        "also publish the ROS4HRI (REP-155) face topics under /humans/faces; needs hri_msgs (read at start-up)",
    ),
)
STARTUP_ONLY = {"image_topic", "use_compressed", "diagnostics_period", "hri.enabled"}


class StartupError(RuntimeError):
    """The node cannot start; the message names the parameter or file."""


def parameter_descriptor(spec: ParameterSpec) -> ParameterDescriptor:
    descriptor = ParameterDescriptor(type=_ROS_TYPES[spec.type], description=spec.description)
    # Ranges with special out-of-range values (e.g. 0 = off) cannot be expressed in a
    # descriptor: those are spelled out in the text and checked by validate_value.
    if spec.min is not None and spec.max is not None and not spec.special:
        if spec.type is int:
            descriptor.integer_range = [IntegerRange(from_value=int(spec.min), to_value=int(spec.max), step=1)]
        elif spec.type is float:
            descriptor.floating_point_range = [
                FloatingPointRange(from_value=float(spec.min), to_value=float(spec.max), step=0.0)
            ]
    elif spec.special:
        descriptor.additional_constraints = (
            f"{spec.min:g}..{spec.max:g} or one of {', '.join(repr(v) for v in spec.special)}"
        )
    if spec.choices:
        descriptor.additional_constraints = f"one of {', '.join(repr(v) for v in spec.choices)}"
    return descriptor


class FrameStatistics:
    """Counters and recent latencies for /diagnostics (thread-safe)."""

    def __init__(self, window: int = 200) -> None:
        self._lock = threading.Lock()
        self._latencies_ms: deque[float] = deque(maxlen=window)
        self._processed_at: deque[float] = deque(maxlen=window)
        self.received = 0
        self.processed = 0
        self.dropped = 0
        self.bad_frames = 0
        self.last_faces = 0
        self.last_error = ""

    def add_processed(self, latency_ms: float, faces: int) -> None:
        with self._lock:
            self.processed += 1
            self.last_faces = faces
            self._latencies_ms.append(latency_ms)
            self._processed_at.append(time.monotonic())

    def add_bad(self, reason: str) -> None:
        with self._lock:
            self.bad_frames += 1
            self.last_error = reason

    def snapshot(self) -> dict[str, float | int | str]:
        with self._lock:
            latencies = sorted(self._latencies_ms)
            now = time.monotonic()
            recent = [t for t in self._processed_at if now - t <= 5.0]
            fps = (len(recent) - 1) / (recent[-1] - recent[0]) if len(recent) > 1 and recent[-1] > recent[0] else 0.0
            p50 = latencies[len(latencies) // 2] if latencies else 0.0
            p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))] if latencies else 0.0
            return {
                "fps": round(fps, 2),
                "latency_p50_ms": round(p50, 2),
                "latency_p95_ms": round(p95, 2),
                "faces": self.last_faces,
                "frames_received": self.received,
                "frames_processed": self.processed,
                "frames_dropped": self.dropped,
                "bad_frames": self.bad_frames,
                "last_error": self.last_error,
            }


class PerceptionNode(Node):
    def __init__(self, **node_kwargs) -> None:
        super().__init__(NODE_NAME, **node_kwargs)
        values = {}
        for spec in (*NODE_PARAMETERS, *PARAMETERS):
            try:
                values[spec.name] = self.declare_parameter(spec.name, spec.default, parameter_descriptor(spec)).value
            except rclpy.exceptions.ParameterException as error:
                raise StartupError(f"parameter '{spec.name}': {error}") from error
        try:
            for spec in NODE_PARAMETERS:
                if spec.min is not None:
                    _check_node_value(spec, values[spec.name])
            self._config = PipelineConfig.from_mapping({spec.name: values[spec.name] for spec in PARAMETERS})
            self._pipeline = build_pipeline(self._config)
        except (ConfigError, ValueError, OSError) as error:
            raise StartupError(str(error)) from error
        self._publish_annotated = bool(values["publish_annotated_image"])
        self._stats = FrameStatistics()
        self._pipeline_lock = threading.Lock()

        self._attributes_pub = self.create_publisher(FaceAttributesArray, ATTRIBUTES_TOPIC, 10)
        # Sensor-data QoS like any camera stream: a reliable ~1 MB image stream stalled
        # other topics of a subscriber process in our tests with the default Fast DDS setup.
        self._annotated_pub = self.create_publisher(Image, ANNOTATED_TOPIC, qos_profile_sensor_data)
        self._detections_pub = self.create_publisher(Detection2DArray, DETECTIONS_TOPIC, 10)
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, DIAGNOSTICS_TOPIC, 10)
        self._hri = _hri_output(self) if values["hri.enabled"] else None

        image_topic = values["image_topic"]
        if not image_topic:
            raise StartupError("parameter 'image_topic': must not be empty")
        message_type = CompressedImage if values["use_compressed"] else Image
        topic = image_topic.rstrip("/") + "/compressed" if values["use_compressed"] else image_topic
        try:
            self.create_subscription(message_type, topic, self._on_image, qos_profile_sensor_data)
        except rclpy.exceptions.NameValidationException as error:
            raise StartupError(f"parameter 'image_topic' = {image_topic!r} is not a valid topic name: {error}") from error

        # Newest-frame slot shared with the worker thread.
        self._slot_lock = threading.Condition()
        self._latest = None
        self._running = True
        self._worker = threading.Thread(target=self._work, name="face_perception_worker", daemon=True)
        self._worker.start()

        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.create_timer(float(values["diagnostics_period"]), self._publish_diagnostics)
        self.get_logger().info(
            f"watching {topic} ({'CompressedImage' if values['use_compressed'] else 'Image'}); "
            f"emotion model {self._pipeline.emotion_classifier.model_path}, "
            f"gender model {self._pipeline.gender_classifier.model_path}, "
            f"age model {self._pipeline.age_model_path or 'none (FaceAttributes.age is NaN)'}"
            + (f"; REP-155 face ids start with '{self._hri.id_tag}'" if self._hri else "")
        )

    # --- input -------------------------------------------------------------------------
    def _on_image(self, message) -> None:
        with self._slot_lock:
            self._stats.received += 1
            if self._latest is not None:
                self._stats.dropped += 1
            self._latest = (message, time.perf_counter())
            self._slot_lock.notify()

    def _work(self) -> None:
        while True:
            with self._slot_lock:
                while self._latest is None and self._running:
                    self._slot_lock.wait(timeout=0.5)
                if not self._running:
                    return
                message, received_at = self._latest
                self._latest = None
            try:
                self._process(message, received_at)
            except Exception as error:  # keep the node alive whatever one frame does
                self._stats.add_bad(f"{type(error).__name__}: {error}")
                self.get_logger().error(f"frame skipped: unexpected {type(error).__name__}: {error}")

    def _process(self, message, received_at: float) -> None:
        try:
            if isinstance(message, CompressedImage):
                bgr = ros_messages.compressed_msg_to_bgr(message)
            else:
                bgr = ros_messages.image_msg_to_bgr(message)
        except ImageConversionError as error:
            self._stats.add_bad(str(error))
            self.get_logger().warning(f"frame skipped: {error}", throttle_duration_sec=5.0)
            return
        with self._pipeline_lock:
            result = self._pipeline.process(bgr)
            emotion_labels = self._pipeline.emotion_labels
        header = message.header
        self._attributes_pub.publish(ros_messages.face_attributes_array(result.faces, header, emotion_labels))
        self._detections_pub.publish(ros_messages.detection_array(result.faces, header, emotion_labels))
        if self._publish_annotated and self._annotated_pub.get_subscription_count() > 0:
            annotated = draw_annotations(bgr, result.faces)
            self._annotated_pub.publish(ros_messages.image_msg_with_header(annotated, header))
        if self._hri is not None:
            self._hri.publish(result, header, bgr, emotion_labels)
        self._stats.add_processed((time.perf_counter() - received_at) * 1000.0, len(result.faces))

    # --- parameters --------------------------------------------------------------------
    def _on_set_parameters(self, parameters) -> SetParametersResult:
        updates = {}
        for parameter in parameters:
            if parameter.name in STARTUP_ONLY:
                return SetParametersResult(
                    successful=False, reason=f"parameter '{parameter.name}' is read at start-up only; restart the node"
                )
            if parameter.name == "publish_annotated_image":
                continue
            updates[parameter.name] = parameter.value
        if not updates:
            for parameter in parameters:
                if parameter.name == "publish_annotated_image":
                    self._publish_annotated = bool(parameter.value)
            return SetParametersResult(successful=True)
        try:
            for name, value in updates.items():
                validate_value(name, value)
            config = self._config.with_updates(updates)
        except (ConfigError, ValueError) as error:
            return SetParametersResult(successful=False, reason=str(error))
        with self._pipeline_lock:
            previous = self._config
            try:
                # Builds every new part before swapping any, so a bad model path is
                # refused and the node keeps running on the old configuration.
                self._pipeline.reconfigure(config)
                ros_messages.check_emotion_labels(self._pipeline.emotion_labels)
            except (ConfigError, ValueError, OSError) as error:
                self._pipeline.reconfigure(previous)
                return SetParametersResult(successful=False, reason=str(error))
            self._config = config
        for parameter in parameters:
            if parameter.name == "publish_annotated_image":
                self._publish_annotated = bool(parameter.value)
        self.get_logger().info(f"parameters updated: {sorted(updates)}")
        return SetParametersResult(successful=True)

    # --- diagnostics -------------------------------------------------------------------
    def _publish_diagnostics(self) -> None:
        values = self._stats.snapshot()
        if values["frames_received"] == 0:
            level, text = DiagnosticStatus.WARN, "no images received yet"
        elif values["bad_frames"]:
            level, text = DiagnosticStatus.WARN, f"{values['bad_frames']} bad frame(s) skipped"
        else:
            level, text = DiagnosticStatus.OK, "ok"
        self._diagnostics_pub.publish(
            ros_messages.diagnostics(self.get_clock().now().to_msg(), self.get_fully_qualified_name(), values, level, text)
        )

    @property
    def statistics(self) -> dict[str, float | int | str]:
        return self._stats.snapshot()

    def destroy_node(self) -> None:
        with self._slot_lock:
            self._running = False
            self._slot_lock.notify()
        self._worker.join(timeout=5.0)
        self._pipeline.close()
        if self._hri is not None:
            self._hri.close()
        super().destroy_node()


def _check_node_value(spec: ParameterSpec, value) -> None:
    if not spec.min <= value <= spec.max:
        raise ConfigError(f"parameter '{spec.name}' = {value!r} is outside {spec.min}..{spec.max}")


def _hri_output(node: Node):
    """The REP-155 publisher; hri_msgs is imported only here, when hri.enabled is true."""
    try:
        from face_perception.hri_output import HriFaceOutput
    except ImportError as error:
        raise StartupError(
            f"parameter 'hri.enabled' is true but hri_msgs cannot be imported ({error}); install "
            "ros-<distro>-hri-msgs or build ../shared/ros2/src/hri_msgs (scripts/setup_env.sh --dev)"
        ) from error
    return HriFaceOutput(node)


def build_pipeline(config: PipelineConfig) -> FacePerceptionPipeline:
    """The pipeline for a config, refusing emotion models whose classes the message lacks."""
    pipeline = FacePerceptionPipeline(config)
    ros_messages.check_emotion_labels(pipeline.emotion_labels)
    return pipeline


def main(args: list[str] | None = None) -> int:
    return run_node(PerceptionNode, rclpy.spin, (StartupError,), NODE_NAME, args)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
