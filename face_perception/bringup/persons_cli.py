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
``face-perception-persons``: the persons database file without ROS (list, name, forget).

    face-perception-persons [--database FILE] list
    face-perception-persons [--database FILE] name PERSON_ID NAME    ("" makes them anonymous)
    face-perception-persons [--database FILE] forget PERSON_ID
    face-perception-persons [--database FILE] forget-all

Safe while nodes run on the file (SQLite WAL); they see the change at their next match.
"""
from __future__ import annotations

import argparse
import datetime
import sys

from face_perception.identity.face_embedding import DlibFaceEmbedder
from face_perception.identity.persons_db import PersonStore, PersonStoreError
from face_perception.parameters import PARAMETERS_BY_NAME


def _time(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds).isoformat(sep=" ", timespec="seconds")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="face-perception-persons", description=__doc__.split("\n")[1])
    parser.add_argument("--database", default=str(PARAMETERS_BY_NAME["identity.database"].default),
                        help="the persons file (default: the node's default identity.database)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="every person: id, name, descriptors, first and last seen")
    name = commands.add_parser("name", help="enrol or change a person's name")
    name.add_argument("person_id")
    name.add_argument("name")
    forget = commands.add_parser("forget", help="delete a person and all their descriptors")
    forget.add_argument("person_id")
    commands.add_parser("forget-all", help="delete every person")
    args = parser.parse_args(argv)
    try:
        store = PersonStore(args.database, DlibFaceEmbedder.name)
        if args.command == "list":
            for person in store.persons():
                print(f"{person.person_id}\t{person.name or '(anonymous)'}\t{person.embeddings} descriptors\t"
                      f"first {_time(person.first_seen)}\tlast {_time(person.last_seen)}")
        elif args.command == "name":
            if not store.set_name(args.person_id, args.name):
                print(f"no person '{args.person_id}' in {store.path}", file=sys.stderr)
                return 1
        elif args.command == "forget":
            if not store.forget(args.person_id):
                print(f"no person '{args.person_id}' in {store.path}", file=sys.stderr)
                return 1
        else:
            for person in store.persons():
                store.forget(person.person_id)
        store.close()
    except PersonStoreError as error:
        print(f"face-perception-persons: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
