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
The ROS 2 node: a thin shell over :class:`face_perception.pipeline.pipeline.FacePerceptionPipeline`.

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
from rcl_interfaces.msg import SetParametersResult
import rclpy
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header
from vision_msgs.msg import Detection2DArray

from face_perception.classification.classification import ATTRIBUTES
from face_perception.geometry.gaze import gaze_rotation_in_face
from face_perception.geometry.head_pose import CameraModel, CameraModelError
from face_perception.interaction.proxemics import zone_lists
from face_perception.parameters import (
    ConfigError,
    NODE,
    PARAMETERS,
    PARAMETERS_BY_NAME,
    PIPELINE_PARAMETERS,
    PipelineConfig,
    validate_value,
)
from face_perception.pipeline.pipeline import FacePerceptionPipeline
from face_perception.ros import ros_messages
from face_perception.ros.annotation import draw_annotations
from face_perception.ros.camera_info import camera_info_topic, CameraInfoMonitor
from face_perception.ros.diagnostics import PerCauseThrottle, StreamHealth
from face_perception.ros.engagement import NodeEngagement, person_positions
from face_perception.ros.image_conversion import check_pixel_count, compressed_image_size, ImageConversionError
from face_perception.ros.node_main import run_node, warn_unknown_parameters
from face_perception.ros.ros_parameters import declare_table
from face_perception.ros.topics import (  # noqa: F401 (re-exported: the demo and tests import them from here)
    ANNOTATED_TOPIC,
    ATTRIBUTES_TOPIC,
    DEFAULT_IMAGE_TOPIC,
    DETECTIONS_TOPIC,
    DIAGNOSTICS_TOPIC,
)

NODE_NAME = "face_perception"

# Seconds between two log lines for the same cause of bad frames (each cause has its own).
BAD_FRAME_LOG_INTERVAL_S = 5.0


class StartupError(RuntimeError):
    """The node cannot start; the message names the parameter or file."""


class PerceptionNode(Node):
    def __init__(self, **node_kwargs) -> None:
        super().__init__(NODE_NAME, **node_kwargs)
        try:
            # Every parameter of the table, checked by its one validation function.
            values = declare_table(self, PARAMETERS)
            self._config = PipelineConfig.from_mapping({spec.name: values[spec.name] for spec in PIPELINE_PARAMETERS})
            self._pipeline = build_pipeline(self._config)
        except (ConfigError, ValueError, OSError) as error:
            raise StartupError(str(error)) from error
        image_topic = values["image_topic"]
        if not image_topic:
            raise StartupError("parameter 'image_topic': must not be empty")
        # The camera's camera_info: small, so it arrives when large images do not.
        self.camera_info = CameraInfoMonitor(camera_info_topic(values["camera_info_topic"], image_topic))
        self._health = StreamHealth(stale_after_s=float(values["diagnostics.stale_after"]),
                                    camera_info=self.camera_info)
        # The node-level parameters that may change at run time (see _apply_node_values).
        self._apply_node_values(values)
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
        frames_on = bool(values["hri.enabled"] and self._config.head_pose.enabled)
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

        # Head pose: intrinsics from the same camera_info (see _on_camera_info); the pipeline
        # estimates and smooths the poses and gazes.
        self._camera: CameraModel | None = None
        self._camera_problem = "no camera_info received yet"
        self._frame_camera_problem = self._camera_problem  # why this frame has no camera ("" when it has one)
        self._camera_logged: set[str] = set()
        self._camera_info_topic = info_subscription.topic_name

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
        if self._config.head_pose.enabled:
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
        header = message.header
        camera = self._usable_camera(bgr.shape)
        with self._pipeline_lock:
            # Keypoints for every face only where an output reads them (a BlazeFace pass per Haar
            # face); the pipeline adds them, and the face mesh, for the head pose given a camera.
            self._pipeline.measure_keypoints = self._hri is not None
            # The face mesh only while an output reads it: landmarks, mouth_open.
            self._pipeline.measure_landmarks = (self._hri is not None
                                                or self._attributes_pub.get_subscription_count() > 0)
            result = self._pipeline.process(bgr, camera, header.stamp.sec + header.stamp.nanosec * 1e-9)
        self._log_identity_problem()
        positions = {face.track_id: face.head_pose.translation for face in result.faces if face.head_pose}
        gazes = {face.track_id: face.gaze for face in result.faces if face.gaze is not None}
        # Every live track with a pose: a missed track keeps its last pose and gaze.
        poses = result.live_head_poses
        engagement, robot = {}, None
        if self._engagement is not None:
            camera_problem = "" if camera is not None else self._frame_camera_problem
            engagement, robot = self._engagement.update(result, header, poses, result.live_gazes, camera_problem)
        levels = {track_id: value.level for track_id, value in engagement.items()}
        self._attributes_pub.publish(ros_messages.face_attributes_array(result.faces, header, positions, gazes,
                                                                        self._looking_threshold_deg, levels))
        self._detections_pub.publish(ros_messages.detection_array(result.faces, header))
        if self._publish_annotated and self._annotated_pub.get_subscription_count() > 0:
            annotated = draw_annotations(bgr, result.faces, levels)
            self._annotated_pub.publish(ros_messages.image_msg_with_header(annotated, header))
        if self._hri is not None:
            gaze_frames = {track_id: gaze_rotation_in_face(gaze.direction, poses[track_id])
                           for track_id, gaze in result.live_gazes.items()}
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

    def _usable_camera(self, image_shape) -> CameraModel | None:
        """
        Return the camera model for images of this shape, or None (logged once per reason).

        None also with head_pose.enabled false; without a usable camera_info for these images
        the pipeline gives no head poses or gazes.
        """
        if not self._config.head_pose.enabled:
            self._frame_camera_problem = "head_pose.enabled is false"
            return None
        camera, problem = self._camera, self._camera_problem
        if camera is not None and camera.width and (camera.width, camera.height) != (image_shape[1], image_shape[0]):
            camera, problem = None, (f"the camera_info is for {camera.width}x{camera.height} images, "
                                     f"the images are {image_shape[1]}x{image_shape[0]}")
        self._frame_camera_problem = problem if camera is None else ""
        if camera is None and problem not in self._camera_logged:
            self._camera_logged.add(problem)
            self.get_logger().warning(f"no face positions or face frames: {problem} "
                                      f"(topic {self._camera_info_topic})")
        return camera

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
        pipeline_updates = {}
        node_updates = {}
        for parameter in parameters:
            spec = PARAMETERS_BY_NAME.get(parameter.name)
            if spec is not None and spec.startup_only:
                return SetParametersResult(
                    successful=False, reason=f"parameter '{parameter.name}' is read at start-up only; restart the node"
                )
            try:
                value = validate_value(parameter.name, parameter.value)  # also refuses names not in the table
            except ConfigError as error:
                return SetParametersResult(successful=False, reason=str(error))
            (node_updates if spec.scope == NODE else pipeline_updates)[parameter.name] = value
        if not pipeline_updates:
            self._apply_node_values(node_updates)
            return SetParametersResult(successful=True)
        try:
            config = self._config.with_updates(pipeline_updates)
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
        self._apply_node_values(node_updates)
        self.get_logger().info(f"parameters updated: {sorted(pipeline_updates)}")
        return SetParametersResult(successful=True)

    def _apply_node_values(self, values: dict) -> None:
        """Apply the node-level parameters among ``values`` that change at run time (validated already)."""
        if "publish_annotated_image" in values:
            self._publish_annotated = bool(values["publish_annotated_image"])
        if "max_image_pixels" in values:
            self._max_image_pixels = int(values["max_image_pixels"])
        if "diagnostics.stale_after" in values:
            self._health.stale_after_s = float(values["diagnostics.stale_after"])
        if "gaze.looking_at_camera_deg" in values:
            self._looking_threshold_deg = float(values["gaze.looking_at_camera_deg"])

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
            "ros-<distro>-hri-msgs or build ../shared/ros2/src/hri_msgs (scripts/setup/setup_env.sh --dev)"
        ) from error
    frames = None
    if face_frames:
        try:
            from face_perception.ros.face_frames import FaceFramesPublisher
        except ImportError as error:
            raise StartupError(
                f"parameters 'hri.enabled' and 'head_pose.enabled' are true but tf2_msgs cannot be imported "
                f"({error}); install ros-<distro>-tf2-msgs, build ../shared/ros2/src/tf2_msgs "
                "(scripts/setup/setup_env.sh --dev), or set head_pose.enabled false"
            ) from error
        frames = FaceFramesPublisher(node)
    return HriFaceOutput(node, frames=frames)


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
