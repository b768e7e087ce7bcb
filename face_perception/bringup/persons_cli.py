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
    face-perception-persons [--database FILE] name PERSON_ID NAME
    face-perception-persons [--database FILE] forget PERSON_ID
    face-perception-persons [--database FILE] forget-all
    face-perception-persons [--database FILE] init          (a new, empty file; refused if FILE exists)

Every command but init opens only an existing persons file ("no database at FILE" otherwise);
a file that is not a persons database is refused untouched. Names follow the rule the node's
identity/name_person service applies (face_perception.identity.person_names). forget and
forget-all erase the old copies SQLite keeps (see docs/identity.md, "Privacy"). Safe while
nodes run on the file (SQLite WAL); they see the change at their next match.
"""
from __future__ import annotations

import argparse
import datetime
from pathlib import Path
import sys

from face_perception.identity.face_embedding import DlibFaceEmbedder
from face_perception.identity.person_names import clean_name, InvalidName, printable_name
from face_perception.identity.persons_db import PersonStore, PersonStoreError
from face_perception.parameters import PARAMETERS_BY_NAME

PROGRAM = "face-perception-persons"


def _time(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds).isoformat(sep=" ", timespec="seconds")


def _fail(message: str) -> int:
    print(f"{PROGRAM}: {message}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROGRAM, description=__doc__.split("\n")[1])
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
    commands.add_parser("init", help="create a new, empty persons file (refused if the file exists)")
    args = parser.parse_args(argv)
    database = Path(args.database).expanduser()
    if args.command == "init" and (database.exists() or database.is_symlink()):
        return _fail(f"{database} exists already; init creates only a new file")
    if args.command == "name":
        try:
            new_name = clean_name(args.name)
        except InvalidName as error:
            return _fail(f"name: {error}")
    try:
        store = PersonStore(database, DlibFaceEmbedder.name, create=args.command == "init")
        for warning in store.warnings:
            print(f"{PROGRAM}: warning: {warning}", file=sys.stderr)
        try:
            return _command(store, args, new_name if args.command == "name" else "")
        finally:
            store.close()
    except PersonStoreError as error:
        return _fail(str(error))


def _command(store: PersonStore, args: argparse.Namespace, new_name: str) -> int:
    if args.command == "list":
        for person in store.persons():
            print(f"{person.person_id}\t{printable_name(person.name) or '(anonymous)'}\t{person.embeddings} "
                  f"descriptors\tfirst {_time(person.first_seen)}\tlast {_time(person.last_seen)}")
    elif args.command == "name":
        if not store.set_name(args.person_id, new_name):
            return _fail(f"no person '{args.person_id}' in {store.path}")
    elif args.command == "forget":
        if not store.forget(args.person_id):
            return _fail(f"no person '{args.person_id}' in {store.path}")
    elif args.command == "forget-all":
        print(f"forgot {store.forget_all()} persons")
    else:
        print(f"created {store.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
