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
Helpers of scripts/benchmarks/benchmark.py (frames, measurements, ROS graph run, recall, footprint).

Nothing here imports TensorFlow except :mod:`benchlib.baseline`, and only when the baseline
runs, so our side's memory can be measured in a process that never loads it.
"""
