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
face_perception: face perception for ROS 2.

It finds faces in camera images (detection), follows them from frame to frame (tracking), reads
gender, emotion and age from each face (classification), estimates head pose, the face mesh, eye
gaze and mouth openness (geometry), recognises known persons (identity), runs all of that per
frame (pipeline) and publishes the results as ROS messages, including the REP-155 (ROS4HRI)
topics (ros); bringup starts the node graph, one node per camera, and holds the demo and the
persons database command line.
"""
