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
Signals of a person's interaction with the robot, from where the faces are and look (no ROS).

- ``engagement``: each person's engagement score (mutual gaze, distance) over a window and the
  four states with hysteresis (Webb and Lemaignan, RO-MAN 2022).
- ``proxemics``: the personal, social and public zones of the persons' distances.
"""
