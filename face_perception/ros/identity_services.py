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
The persons database as ROS services (identity.enabled): name, forget and list persons.

identity/name_person   face_perception_msgs/NamePerson    enrol a name for a track's person, or rename a person
identity/forget_person face_perception_msgs/ForgetPerson  delete a person and all their descriptors
identity/list_persons  face_perception_msgs/ListPersons   every stored person
Relative names: in the node's namespace (/identity/... in the root, /head/identity/... for camera head).
"""
from __future__ import annotations

import threading

from face_perception_msgs.msg import Person
from face_perception_msgs.srv import ForgetPerson, ListPersons, NamePerson
from rclpy.node import Node

from face_perception.identity.persons_db import PersonStoreError
from face_perception.pipeline.pipeline import FacePerceptionPipeline

NAME_SERVICE = "identity/name_person"
FORGET_SERVICE = "identity/forget_person"
LIST_SERVICE = "identity/list_persons"
# Longest name accepted: a name is a label, not a document.
MAX_NAME_LENGTH = 200


class IdentityServices:
    """Serves the persons database of a pipeline whose identity is on."""

    def __init__(self, node: Node, pipeline: FacePerceptionPipeline, pipeline_lock: threading.Lock) -> None:
        self._node = node
        self._pipeline = pipeline
        self._lock = pipeline_lock
        node.create_service(NamePerson, NAME_SERVICE, self._name)
        node.create_service(ForgetPerson, FORGET_SERVICE, self._forget)
        node.create_service(ListPersons, LIST_SERVICE, self._list)

    def _name(self, request: NamePerson.Request, response: NamePerson.Response) -> NamePerson.Response:
        worker = self._pipeline.identity
        if worker is None:
            return _refuse(response, self._pipeline.identity_problem or "identity is off")
        if bool(request.track_id) == bool(request.person_id):
            return _refuse(response, "give exactly one of track_id and person_id")
        if len(request.name) > MAX_NAME_LENGTH:
            return _refuse(response, f"the name is longer than {MAX_NAME_LENGTH} characters")
        person_id = request.person_id
        if request.track_id:
            with self._lock:
                match = self._pipeline.person_of_track(request.track_id)
            if match is None:
                return _refuse(response, f"track '{request.track_id}' is not live or not recognised yet")
            person_id = match.person_id
        try:
            found = worker.set_name(person_id, request.name)
        except PersonStoreError as error:
            return _refuse(response, str(error))
        if not found:
            return _refuse(response, f"no person '{person_id}'")
        self._node.get_logger().info(f"person {person_id} named {request.name!r}")
        response.success, response.person_id = True, person_id
        return response

    def _forget(self, request: ForgetPerson.Request, response: ForgetPerson.Response) -> ForgetPerson.Response:
        worker = self._pipeline.identity
        if worker is None:
            return _refuse(response, self._pipeline.identity_problem or "identity is off")
        try:
            found = worker.forget(request.person_id)
        except PersonStoreError as error:
            return _refuse(response, str(error))
        if not found:
            return _refuse(response, f"no person '{request.person_id}'")
        self._node.get_logger().info(f"person {request.person_id} forgotten")
        response.success = True
        return response

    def _list(self, request: ListPersons.Request, response: ListPersons.Response) -> ListPersons.Response:
        worker = self._pipeline.identity
        if worker is None:
            return response
        try:
            stored = worker.persons()
        except PersonStoreError as error:
            self._node.get_logger().error(f"cannot list persons: {error}")
            return response
        response.persons = [Person(person_id=p.person_id, name=p.name, first_seen=p.first_seen,
                                   last_seen=p.last_seen, descriptors=p.embeddings) for p in stored]
        return response


def _refuse(response, message: str):
    response.success, response.message = False, message
    return response
