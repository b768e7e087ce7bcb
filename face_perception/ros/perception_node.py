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
The ROS 2 node: a thin shell over :class:`face_perception.attributes.pipeline.FacePerceptionPipeline`.

Subscribes:  image_topic (sensor_msgs/Image, or sensor_msgs/CompressedImage on
             <image_topic>/compressed when use_compressed is true), sensor-data QoS;
             default camera/image_raw, relative: /camera/image_raw in the root namespace;
             camera_info_topic (sensor_msgs/CameraInfo, default: camera_info beside
             image_topic), to count frames lost on the way (face_perception.ros.camera_info)
             and, with head_pose.enabled, for the head pose's intrinsics.
Publishes:   faces/attributes         face_perception_msgs/FaceAttributesArray (every frame)
             faces/annotated_image    sensor_msgs/Image (boxes, ids, labels; same header)
             faces/detections         vision_msgs/Detection2DArray
             /diagnostics             diagnostic_msgs/DiagnosticArray
             /humans/faces/...        ROS4HRI (REP-155) face topics, with hri.enabled
                                      (face_perception.ros.hri_output)
             /tf                      face_<id>/gaze_<id> frames, with hri.enabled,
                                      head_pose.enabled and a camera_info
             /humans/persons/...      REP-155 persons, with hri.enabled and identity.enabled (the
                                      database's) or engagement.enabled (an anonymous one per
                                      tracked face), each with its engagement_status, and the
                                      proxemic lists (face_perception.ros.hri_persons)
Services:    identity/{name,forget,list}_person(s), with identity.enabled
             (face_perception.ros.identity_services)
The faces/ topics are relative (face_perception.ros.topics): /faces/... in the root namespace,
/front/faces/... with __ns:=/front, so one instance per camera needs no remapping.

Frames are never queued: the subscription keeps only the newest frame, a worker thread
processes it, and frames replaced before they were processed are counted as dropped.
"""
from __future__ import annotations

import sys
import threading
import time

from diagnostic_msgs.msg import DiagnosticArray
from face_perception_msgs.msg import FaceAttributesArray
from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
    ParameterType,
    SetParametersResult,
)
import rclpy
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header
from vision_msgs.msg import Detection2DArray

from face_perception.attributes.classification import ATTRIBUTES
from face_perception.attributes.gaze import gaze_rotation_in_face, GazeTracker
from face_perception.attributes.head_pose import CameraModel, CameraModelError, HeadPoseTracker, OneEuroParameters
from face_perception.attributes.mesh_geometry import best_pose_estimate
from face_perception.attributes.pipeline import FacePerceptionPipeline
from face_perception.attributes.proxemics import zone_lists
from face_perception.parameters import ConfigError, PARAMETERS, ParameterSpec, PipelineConfig, validate_value
from face_perception.ros import ros_messages
from face_perception.ros.annotation import draw_annotations
from face_perception.ros.camera_info import camera_info_topic, CameraInfoMonitor
from face_perception.ros.diagnostics import PerCauseThrottle, StreamHealth
from face_perception.ros.engagement import NodeEngagement, person_positions
from face_perception.ros.image_conversion import check_pixel_count, compressed_image_size, ImageConversionError
from face_perception.ros.node_main import run_node, warn_unknown_parameters
from face_perception.ros.topics import (  # noqa: F401 (re-exported: the demo and tests import them from here)
    ANNOTATED_TOPIC,
    ATTRIBUTES_TOPIC,
    DEFAULT_IMAGE_TOPIC,
    DETECTIONS_TOPIC,
    DIAGNOSTICS_TOPIC,
)

NODE_NAME = "face_perception"

_ROS_TYPES = {
    bool: ParameterType.PARAMETER_BOOL,
    int: ParameterType.PARAMETER_INTEGER,
    float: ParameterType.PARAMETER_DOUBLE,
    str: ParameterType.PARAMETER_STRING,
}

# Node-level parameters (the pipeline's own come from face_perception.parameters).
NODE_PARAMETERS: tuple[ParameterSpec, ...] = (
    ParameterSpec("image_topic", DEFAULT_IMAGE_TOPIC, str,
                  "sensor_msgs/Image topic to watch; a relative name resolves in the node's namespace "
                  "(read at start-up)"),
    ParameterSpec(
        "use_compressed",
        False,
        bool,
        "subscribe to sensor_msgs/CompressedImage on <image_topic>/compressed instead (read at start-up)",
    ),
    ParameterSpec(
        "camera_info_topic",
        "",
        str,
        "sensor_msgs/CameraInfo of the camera, counted against the images to see frames lost on the way, "
        "and the intrinsics of the head pose (head_pose.enabled); empty = camera_info beside image_topic "
        "(read at start-up)",
    ),
    ParameterSpec("publish_annotated_image", True, bool, "draw and publish /faces/annotated_image"),
    ParameterSpec("diagnostics_period", 1.0, float, "seconds between /diagnostics messages (read at start-up)",
                  0.1, 60.0),
    ParameterSpec(
        "hri.enabled",
        False,
        bool,
        "also publish the ROS4HRI (REP-155) face topics under /humans/faces; needs hri_msgs (read at start-up)",
    ),
    ParameterSpec("diagnostics.stale_after", 2.0, float,
                  "seconds without an image after the first one before /diagnostics reports ERROR "
                  "(WARN from half this time; back to OK when images return)", 0.1, 3600.0),
    ParameterSpec("max_image_pixels", 4096 * 4096, int,
                  "frames with more pixels (width x height) are skipped as bad frames before any copy "
                  "of the image is made", 64 * 64, 16384 * 16384),
    # --- head pose (intrinsics from camera_info_topic) ---
    ParameterSpec("head_pose.enabled", True, bool,
                  "estimate each face's 3-D head pose from its keypoints and the camera_info intrinsics: "
                  "FaceAttributes.position and, with hri.enabled, the face_<id>/gaze_<id> frames on /tf "
                  "(needs tf2_msgs then; read at start-up)"),
    ParameterSpec("head_pose.min_cutoff", 1.0, float,
                  "One-Euro smoothing of the head pose over a track: cutoff frequency (Hz) of a still "
                  "head; lower = steadier, more lag", 0.01, 100.0),
    ParameterSpec("head_pose.beta", 2.0, float,
                  "One-Euro: how fast the cutoff rises with the head's speed (per m/s, and per unit of "
                  "quaternion change per second); higher = less lag when it moves", 0.0, 1000.0),
    ParameterSpec("head_pose.d_cutoff", 1.0, float,
                  "One-Euro: cutoff frequency (Hz) of the speed estimate", 0.01, 100.0),
    ParameterSpec("gaze.looking_at_camera_deg", 15.0, float,
                  "FaceAttributes.looking_at_camera is true while the eyes' gaze is at most this many degrees "
                  "from the line to the camera (the gaze's own error is 5-15 degrees: scripts/measure_gaze.py)",
                  1.0, 90.0),
)
STARTUP_ONLY = {"image_topic", "camera_info_topic", "use_compressed", "diagnostics_period", "hri.enabled",
                "head_pose.enabled", "identity.enabled", "identity.database", "engagement.enabled",
                "engagement.reference_frame"}
NODE_PARAMETERS_BY_NAME = {spec.name: spec for spec in NODE_PARAMETERS}
# Seconds between two log lines for the same cause of bad frames (each cause has its own).
BAD_FRAME_LOG_INTERVAL_S = 5.0


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
        self._max_image_pixels = int(values["max_image_pixels"])
        image_topic = values["image_topic"]
        if not image_topic:
            raise StartupError("parameter 'image_topic': must not be empty")
        # The camera's camera_info: small, so it arrives when large images do not.
        self.camera_info = CameraInfoMonitor(camera_info_topic(values["camera_info_topic"], image_topic))
        self._health = StreamHealth(stale_after_s=float(values["diagnostics.stale_after"]),
                                    camera_info=self.camera_info)
        self._bad_frame_log = PerCauseThrottle(BAD_FRAME_LOG_INTERVAL_S)
        self._pipeline_lock = threading.Lock()
        # Identity: one log line when it cannot run (the node runs on without it), services when on.
        self._identity_logged = ""
        self._log_identity_problem()
        if self._config.identity.enabled:
            from face_perception.ros.identity_services import IdentityServices

            self._identity_services = IdentityServices(self, self._pipeline, self._pipeline_lock)

        self._attributes_pub = self.create_publisher(FaceAttributesArray, ATTRIBUTES_TOPIC, 10)
        # Sensor-data QoS like any camera stream: a reliable ~1 MB image stream stalled
        # other topics of a subscriber process in our tests with the default Fast DDS setup.
        self._annotated_pub = self.create_publisher(Image, ANNOTATED_TOPIC, qos_profile_sensor_data)
        self._detections_pub = self.create_publisher(Detection2DArray, DETECTIONS_TOPIC, 10)
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, DIAGNOSTICS_TOPIC, 10)
        frames_on = bool(values["hri.enabled"] and values["head_pose.enabled"])
        self._hri = _hri_output(self, frames_on) if values["hri.enabled"] else None
        # Engagement (engagement.enabled, from the head poses): FaceAttributes and, with hri, the persons.
        self._engagement = None
        if self._config.engagement.enabled and values["head_pose.enabled"]:
            try:
                self._engagement = NodeEngagement(self, self._config.engagement)
            except ValueError as error:
                raise StartupError(str(error)) from error
        self._hri_persons = self._hri_proxemics = self._anonymous_persons = None
        identity = self._pipeline.identity
        if self._hri is not None and (identity is not None or self._config.engagement.enabled):
            from face_perception.ros.hri_persons import (anonymous_persons, HriPersonOutput, HriProxemicsOutput,
                                                         KNOWN_PERIOD_S)

            # Without identity, an anonymous person per track: it lives as long as the track.
            self._hri_persons = HriPersonOutput(self, identity.known_person_ids if identity else list,
                                                transient=identity is None, engagement=self._engagement is not None)
            self._anonymous_persons = anonymous_persons if identity is None else None
            if identity is not None:
                self.create_timer(KNOWN_PERIOD_S, lambda: self._hri_persons.publish_known(
                    Header(stamp=self.get_clock().now().to_msg())))
            if self._engagement is not None:
                self._hri_proxemics = HriProxemicsOutput(self)

        message_type = CompressedImage if values["use_compressed"] else Image
        topic = image_topic.rstrip("/") + "/compressed" if values["use_compressed"] else image_topic
        try:
            subscription = self.create_subscription(message_type, topic, self._on_image, qos_profile_sensor_data)
        except rclpy.exceptions.NameValidationException as error:
            raise StartupError(
                f"parameter 'image_topic' = {image_topic!r} is not a valid topic name: {error}") from error
        topic = subscription.topic_name  # resolved: the log names what is really watched
        try:
            info_subscription = self.create_subscription(CameraInfo, self.camera_info.topic, self._on_camera_info,
                                                         qos_profile_sensor_data)
        except rclpy.exceptions.NameValidationException as error:
            raise StartupError(f"parameter 'camera_info_topic' = {self.camera_info.topic!r} is not a valid topic "
                               f"name: {error}") from error

        # Head pose: intrinsics from the same camera_info (see _on_camera_info).
        self._camera: CameraModel | None = None
        self._camera_problem = "no camera_info received yet"
        self._camera_logged: set[str] = set()
        self._camera_info_topic = info_subscription.topic_name
        self._head_poses = HeadPoseTracker(_one_euro(values)) if values["head_pose.enabled"] else None
        self._gazes = GazeTracker(_one_euro(values)) if values["head_pose.enabled"] else None
        self._looking_threshold_deg = float(values["gaze.looking_at_camera_deg"])

        # Newest-frame slot shared with the worker thread.
        self._slot_lock = threading.Condition()
        self._latest = None
        self._running = True
        self._worker = threading.Thread(target=self._work, name="face_perception_worker", daemon=True)
        self._worker.start()

        self.add_on_set_parameters_callback(self._on_set_parameters)
        warn_unknown_parameters(self)
        self.create_timer(float(values["diagnostics_period"]), self._publish_diagnostics)
        self.get_logger().info(
            f"watching {topic} ({'CompressedImage' if values['use_compressed'] else 'Image'}), "
            f"lost frames counted against {info_subscription.topic_name}; "
            f"{_models_line(self._pipeline)}"
            + (f"; REP-155 face ids start with '{self._hri.id_tag}'" if self._hri else "")
            + (f"; identity on, persons database {self._pipeline.identity.store.path}"
               if self._pipeline.identity is not None else "")
        )

    # --- input -------------------------------------------------------------------------
    def _on_image(self, message) -> None:
        stamp_ns = message.header.stamp.sec * 10**9 + message.header.stamp.nanosec
        with self._slot_lock:
            self._health.add_received(time.monotonic(), stamp_ns, replaced_unprocessed=self._latest is not None)
            self._latest = (message, time.perf_counter())
            self._slot_lock.notify()

    def _on_camera_info(self, message: CameraInfo) -> None:
        self.camera_info.add(message, time.monotonic())
        if self._head_poses is not None:
            self._set_camera(message)

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
                if not self.context.ok():
                    return  # Ctrl-C shut ROS down while this frame was being published: not a bad frame
                self._health.add_bad(time.monotonic(), f"{type(error).__name__}: {error}")
                self.get_logger().error(f"frame skipped: unexpected {type(error).__name__}: {error}")

    def _process(self, message, received_at: float) -> None:
        try:
            if isinstance(message, CompressedImage):
                size = compressed_image_size(message.data)
                if size is not None:
                    check_pixel_count(*size, self._max_image_pixels)
                bgr = ros_messages.compressed_msg_to_bgr(message)
                check_pixel_count(bgr.shape[1], bgr.shape[0], self._max_image_pixels)
            else:
                check_pixel_count(message.width, message.height, self._max_image_pixels)
                bgr = ros_messages.image_msg_to_bgr(message)
        except ImageConversionError as error:
            self._health.add_bad(time.monotonic(), str(error))
            # Throttled per cause: one noisy cause must not hide the others.
            held_back = self._bad_frame_log.admit(str(error), time.monotonic())
            if held_back is not None:
                more = f" ({held_back} more like it since the last report)" if held_back else ""
                self.get_logger().warning(f"frame skipped: {error}{more}")
            return
        with self._pipeline_lock:
            # Keypoints for every face only where an output reads them (a BlazeFace pass per Haar face).
            poses_on = self._head_poses is not None and self._camera is not None
            self._pipeline.measure_keypoints = self._hri is not None or poses_on
            # The face mesh only while an output reads it: landmarks, pose and gaze, mouth_open.
            self._pipeline.measure_landmarks = (self._hri is not None or poses_on
                                                or self._attributes_pub.get_subscription_count() > 0)
            result = self._pipeline.process(bgr)
        self._log_identity_problem()
        header = message.header
        poses, gazes = self._face_poses(result, header, bgr.shape)
        positions = {track_id: pose.translation for track_id, pose in poses.items()}
        engagement, robot = {}, None
        if self._engagement is not None:
            camera_problem = "" if self._camera is not None else self._camera_problem
            engagement, robot = self._engagement.update(result, header, poses, gazes, camera_problem)
        levels = {track_id: value.level for track_id, value in engagement.items()}
        self._attributes_pub.publish(ros_messages.face_attributes_array(result.faces, header, positions, gazes,
                                                                        self._looking_threshold_deg, levels))
        self._detections_pub.publish(ros_messages.detection_array(result.faces, header))
        if self._publish_annotated and self._annotated_pub.get_subscription_count() > 0:
            annotated = draw_annotations(bgr, result.faces, levels)
            self._annotated_pub.publish(ros_messages.image_msg_with_header(annotated, header))
        if self._hri is not None:
            # Every live track with a pose: a missed track keeps its last gaze, as its last pose.
            last_gazes = {track_id: self._gazes.last(track_id) for track_id in poses} if self._gazes else {}
            gaze_frames = {track_id: gaze_rotation_in_face(gaze.direction, poses[track_id])
                           for track_id, gaze in last_gazes.items() if gaze is not None}
            self._hri.publish(result, header, bgr, poses, gaze_frames)
        if self._hri_persons is not None:
            persons = (self._anonymous_persons(result.live_track_ids, self._hri.face_id)
                       if self._anonymous_persons is not None else result.live_persons)
            self._hri_persons.publish(persons, self._hri.face_id, header, levels)
            if self._hri_proxemics is not None:
                origin = robot.origin if robot is not None else (0.0, 0.0, 0.0)
                self._hri_proxemics.publish(zone_lists(person_positions(persons, poses), self._engagement.distances,
                                                       origin), header)
        self._health.add_processed(time.monotonic(), (time.perf_counter() - received_at) * 1000.0, len(result.faces))

    def _log_identity_problem(self) -> None:
        problem = self._pipeline.identity_problem
        if problem and problem != self._identity_logged:
            self._identity_logged = problem
            self.get_logger().error(f"{problem}; the node runs on without identity")

    # --- head pose ---------------------------------------------------------------------
    def _set_camera(self, message: CameraInfo) -> None:
        try:
            self._camera = CameraModel.from_values(message.k, message.d, message.distortion_model,
                                                   message.width, message.height)
            self._camera_problem = ""
        except (CameraModelError, ValueError) as error:
            self._camera = None
            self._camera_problem = f"the camera_info is unusable: {error}"

    def _face_poses(self, result, header, image_shape) -> tuple[dict, dict]:
        """
        Return (track id -> smoothed head pose, track id -> smoothed gaze).

        Poses of the live tracks that have one, from the face mesh where the face has one,
        else from its six keypoints; gazes of this frame's faces whose irises fit. ({}, {})
        (logged once per reason) without a usable camera_info for these images.
        """
        if self._head_poses is None:
            return {}, {}
        camera, problem = self._camera, self._camera_problem
        if camera is not None and camera.width and (camera.width, camera.height) != (image_shape[1], image_shape[0]):
            camera, problem = None, (f"the camera_info is for {camera.width}x{camera.height} images, "
                                     f"the images are {image_shape[1]}x{image_shape[0]}")
        if camera is None:
            if problem not in self._camera_logged:
                self._camera_logged.add(problem)
                self.get_logger().warning(f"no face positions or face frames: {problem} "
                                          f"(topic {self._camera_info_topic})")
            return {}, {}
        stamp_s = header.stamp.sec + header.stamp.nanosec * 1e-9
        poses = self._head_poses.update_frame(((f.track_id, best_pose_estimate(f.landmarks, f.keypoints))
                                               for f in result.faces), result.live_track_ids, camera, stamp_s)
        gazes = self._gazes.update_frame(((f.track_id, f.landmarks) for f in result.faces), poses,
                                         result.live_track_ids, camera, stamp_s)
        return poses, gazes

    # --- parameters --------------------------------------------------------------------
    def set_parameters_atomically(self, parameter_list) -> SetParametersResult:
        # `ros2 param set` lands here; the caller sees the reason, the node's log should too
        # (also for refusals by the descriptor's range, which happen before our callback).
        names = [parameter.name for parameter in parameter_list]
        try:
            result = super().set_parameters_atomically(parameter_list)
        except rclpy.exceptions.ParameterNotDeclaredException as error:
            self.get_logger().warning(f"refused parameter change {names}: {error}")
            raise
        if not result.successful:
            self.get_logger().warning(f"refused parameter change {names}: {result.reason}")
        return result

    def _on_set_parameters(self, parameters) -> SetParametersResult:
        updates = {}
        node_updates = {}
        for parameter in parameters:
            if parameter.name in STARTUP_ONLY:
                return SetParametersResult(
                    successful=False, reason=f"parameter '{parameter.name}' is read at start-up only; restart the node"
                )
            spec = NODE_PARAMETERS_BY_NAME.get(parameter.name)
            if spec is not None:
                try:
                    if spec.min is not None:
                        _check_node_value(spec, parameter.value)
                except ConfigError as error:
                    return SetParametersResult(successful=False, reason=str(error))
                node_updates[parameter.name] = parameter.value
                continue
            updates[parameter.name] = parameter.value
        if not updates:
            self._apply_node_updates(node_updates)
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
                ros_messages.check_emotion_labels(self._pipeline.models["emotion"].labels)
            except (ConfigError, ValueError, OSError) as error:
                self._pipeline.reconfigure(previous)
                return SetParametersResult(successful=False, reason=str(error))
            self._config = config
            if self._engagement is not None:
                self._engagement.configure(config.engagement)
        self._apply_node_updates(node_updates)
        self.get_logger().info(f"parameters updated: {sorted(updates)}")
        return SetParametersResult(successful=True)

    def _apply_node_updates(self, values: dict) -> None:
        if "publish_annotated_image" in values:
            self._publish_annotated = bool(values["publish_annotated_image"])
        if "max_image_pixels" in values:
            self._max_image_pixels = int(values["max_image_pixels"])
        if "diagnostics.stale_after" in values:
            self._health.stale_after_s = float(values["diagnostics.stale_after"])
        if "gaze.looking_at_camera_deg" in values:
            self._looking_threshold_deg = float(values["gaze.looking_at_camera_deg"])
        if self._head_poses is not None and any(name.startswith("head_pose.") for name in values):
            current = {name: self.get_parameter(name).value for name in _ONE_EURO_PARAMETERS}
            self._head_poses.set_parameters(_one_euro({**current, **values}))
            self._gazes.set_parameters(_one_euro({**current, **values}))

    # --- diagnostics -------------------------------------------------------------------
    def _publish_diagnostics(self) -> None:
        # Level from the last few seconds and the time since the last image (see diagnostics.py).
        report = self._health.report(time.monotonic())
        self._diagnostics_pub.publish(
            ros_messages.diagnostics(self.get_clock().now().to_msg(), self.get_fully_qualified_name(),
                                     report.values, bytes([report.level]), report.message)
        )

    @property
    def statistics(self) -> dict[str, float | int | str]:
        return self._health.report(time.monotonic()).values

    def destroy_node(self) -> None:
        with self._slot_lock:
            self._running = False
            self._slot_lock.notify()
        self._worker.join(timeout=5.0)
        self._pipeline.close()
        if self._hri is not None:
            self._hri.close()
        if self._hri_persons is not None:
            self._hri_persons.close()
        if self._hri_proxemics is not None:
            self._hri_proxemics.close()
        super().destroy_node()


def _check_node_value(spec: ParameterSpec, value) -> None:
    if not spec.min <= value <= spec.max:
        raise ConfigError(f"parameter '{spec.name}' = {value!r} is outside {spec.min}..{spec.max}")


def _hri_output(node: Node, face_frames: bool):
    """
    Return the REP-155 publisher.

    Return the REP-155 publisher; hri_msgs is imported only here, when hri.enabled is true, and
    tf2_msgs only with ``face_frames`` (head_pose.enabled too).
    """
    try:
        from face_perception.ros.hri_output import HriFaceOutput
    except ImportError as error:
        raise StartupError(
            f"parameter 'hri.enabled' is true but hri_msgs cannot be imported ({error}); install "
            "ros-<distro>-hri-msgs or build ../shared/ros2/src/hri_msgs (scripts/setup_env.sh --dev)"
        ) from error
    frames = None
    if face_frames:
        try:
            from face_perception.ros.face_frames import FaceFramesPublisher
        except ImportError as error:
            raise StartupError(
                f"parameters 'hri.enabled' and 'head_pose.enabled' are true but tf2_msgs cannot be imported "
                f"({error}); install ros-<distro>-tf2-msgs, build ../shared/ros2/src/tf2_msgs "
                "(scripts/setup_env.sh --dev), or set head_pose.enabled false"
            ) from error
        frames = FaceFramesPublisher(node)
    return HriFaceOutput(node, frames=frames)


_ONE_EURO_PARAMETERS = ("head_pose.min_cutoff", "head_pose.beta", "head_pose.d_cutoff")


def _one_euro(values: dict) -> OneEuroParameters:
    min_cutoff, beta, d_cutoff = (float(values[name]) for name in _ONE_EURO_PARAMETERS)
    return OneEuroParameters(min_cutoff=min_cutoff, beta=beta, d_cutoff=d_cutoff)


def build_pipeline(config: PipelineConfig) -> FacePerceptionPipeline:
    """Return the pipeline for a config, refusing emotion models whose classes the message lacks."""
    pipeline = FacePerceptionPipeline(config)
    ros_messages.check_emotion_labels(pipeline.models["emotion"].labels)
    return pipeline


def _models_line(pipeline: FacePerceptionPipeline) -> str:
    """Return the start-up log's account of the face models: each one's file, or none."""
    return ", ".join(f"{attribute.task} model {model.model_path if model else 'none'}"
                     for attribute in ATTRIBUTES for model in [pipeline.models.get(attribute.task)])


def main(args: list[str] | None = None) -> int:
    return run_node(PerceptionNode, rclpy.spin, (StartupError,), NODE_NAME, args)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
