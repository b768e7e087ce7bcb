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

"""ament_python package definition; also installable with plain pip (see README)."""
from glob import glob

from setuptools import find_packages, setup

PACKAGE_NAME = "face_perception"

setup(
    name=PACKAGE_NAME,
    version="0.1.0",
    packages=find_packages(include=[PACKAGE_NAME, f"{PACKAGE_NAME}.*"]),
    package_data={PACKAGE_NAME: ["models/*.tflite", "models/*.card.json", "models/*.onnx", "models/*.LICENSE",
                                 "models/*.README.md", "data/*.jpg", "data/*.json"]},
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE_NAME}"]),
        (f"share/{PACKAGE_NAME}", ["package.xml"]),
        (f"share/{PACKAGE_NAME}/launch", glob("launch/*.launch.py")),
        (f"share/{PACKAGE_NAME}/config", glob("config/*.yaml") + glob("config/*.rviz") + glob("config/*.xml")),
    ],
    install_requires=["setuptools"],
    zip_safe=False,
    maintainer="face_perception maintainers",
    maintainer_email="maintainers@face-perception.dev",
    description="Face detection with gender and emotion classification for ROS 2 robots.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "perception_node = face_perception.ros.perception_node:main",
            "image_source_node = face_perception.ros.image_source_node:main",
            "hri_aggregator_node = face_perception.ros.hri_aggregator_node:main",
            "face-perception-bringup = face_perception.bringup.bringup:main",
            "face-perception-demo = face_perception.bringup.demo:main",
            "face-perception-persons = face_perception.bringup.persons_cli:main",
        ],
    },
)
