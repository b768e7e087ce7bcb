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
Start face_perception: the perception node, optionally an image source and RViz.

    ros2 launch face_perception perception.launch.py image_topic:=/camera/color/image_raw
    ros2 launch face_perception perception.launch.py image_source:=demo use_rviz:=true
    ros2 launch face_perception perception.launch.py namespace:=front image_topic:=image_raw
    ros2 launch face_perception perception.launch.py cameras_file:=/path/to/cameras.yaml

The node list comes from face_perception.bringup.graph.describe_graph, the same function the
pip-only ``face-perception-bringup`` uses, so both start the same graph.
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, LogInfo, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from face_perception.bringup.dds_transport import choose_transport, large_images_profile, parse_switch
from face_perception.bringup.graph import check_params_file, describe_graph, LAUNCH_ARGUMENTS, PACKAGE_NAME


def _start_nodes(context, *args, **kwargs):
    share_directory = get_package_share_directory(PACKAGE_NAME)
    values = {
        argument.name: LaunchConfiguration(argument.name).perform(context)
        for argument in LAUNCH_ARGUMENTS
    }
    graph = describe_graph(values, share_directory)
    # launch_ros only warns about a missing file and starts the nodes without it.
    check_params_file(graph.params_file)
    # The image senders' DDS transport (docs/deployment.md, "DDS"); the user's own choice wins.
    transport = choose_transport(os.environ, parse_switch(values["dds_large_images"]),
                                 large_images_profile(share_directory), os.getcwd())
    return [LogInfo(msg=transport.description)] + [
        Node(
            package=spec.package,
            executable=spec.executable,
            name=spec.name,
            namespace=spec.namespace or None,  # None: the root, as launch_ros expects
            parameters=list(spec.parameters),
            remappings=list(spec.remappings),
            arguments=list(spec.arguments),
            additional_env=transport.environment,
            output="screen",
            emulate_tty=True,
        )
        for spec in graph.nodes
    ]


def generate_launch_description():
    declared = [
        DeclareLaunchArgument(argument.name, default_value=argument.default, description=argument.description)
        for argument in LAUNCH_ARGUMENTS
    ]
    return LaunchDescription([*declared, OpaqueFunction(function=_start_nodes)])
