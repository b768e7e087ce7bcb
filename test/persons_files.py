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
The persons database's files as an auditor sees them: raw bytes, hashes, and an SQLite that does not erase.

Debian's SQLite (this machine's) is built with secure_delete on by default; others are not.
:func:`connect_with_secure_delete_off` and :data:`SECURE_DELETE_OFF` make every new SQLite
connection in a process start with secure_delete off, so a test shows that the package turns
it on itself rather than relying on the build.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
import sqlite3
import subprocess
from urllib.parse import quote

SIBLINGS = ("-wal", "-shm", "-journal")
_plain_connect = sqlite3.connect


def connect_with_secure_delete_off(*args, **kwargs) -> sqlite3.Connection:
    """Open a connection as sqlite3.connect does, then turn secure_delete off (a build where it is off)."""
    db = _plain_connect(*args, **kwargs)
    db.execute("PRAGMA secure_delete=OFF")
    return db


# ``python -c SECURE_DELETE_OFF MODULE ARGS...``: run MODULE as __main__ with every SQLite
# connection starting with secure_delete off (for the node and CLI processes).
SECURE_DELETE_OFF = """
import runpy, sqlite3, sys
plain_connect = sqlite3.connect
def connect(*args, **kwargs):
    db = plain_connect(*args, **kwargs)
    db.execute("PRAGMA secure_delete=OFF")
    return db
sqlite3.connect = connect
module = sys.argv.pop(1)
runpy.run_module(module, run_name="__main__", alter_sys=True)
"""


def database_files(database: Path) -> list[Path]:
    """Return the database file and those of its -wal and -shm that exist."""
    return [path for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")) if path.exists()]


def pieces(secret: bytes, size: int = 32) -> list[bytes]:
    """Cut ``secret`` into parts of ``size`` bytes: a partly overwritten copy still shows."""
    return [secret[start:start + size] for start in range(0, max(len(secret) - size, 0) + 1, size)] or [secret]


def raw_bytes(path: Path) -> bytes:
    """
    Return the file's bytes, read by another process.

    Closing a file descriptor of the database in this process would drop every POSIX lock that
    SQLite connections of this process hold on it (a store the test keeps open), and another
    process's SQLite would then take itself for the file's last user.
    """
    return subprocess.run(["cat", str(path)], capture_output=True, check=True, timeout=30).stdout


def remnants(database: Path, secrets: dict[str, bytes]) -> list[str]:
    """Return "FILE: LABEL" for every secret a 32-byte piece of which is in the raw bytes of the database's files."""
    found = []
    for path in database_files(database):
        data = raw_bytes(path)
        found += [f"{path.name}: {label}" for label, secret in secrets.items()
                  if any(piece in data for piece in pieces(secret))]
    return found


def stored_descriptors(database: Path, person_id: str) -> list[bytes]:
    """Return a person's descriptor blobs, read over a read-only connection of the test's own."""
    db = sqlite3.connect(f"file:{quote(str(database))}?mode=ro", uri=True)
    try:
        return [row[0] for row in db.execute("SELECT vector FROM embeddings WHERE person_id=?", (person_id,))]
    finally:
        db.close()


def fingerprint(path: Path) -> tuple[str, list[str]]:
    """Return the file's sha256 and the names in its folder (a new -wal, -shm or journal shows there)."""
    return hashlib.sha256(path.read_bytes()).hexdigest(), sorted(p.name for p in path.parent.iterdir())


def other_application(path: Path, wal: bool = False) -> None:
    """Write another application's SQLite file at ``path`` (a notes table; ``wal``: in WAL mode)."""
    db = sqlite3.connect(path, isolation_level=None)
    if wal:
        db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    db.execute("INSERT INTO notes (text) VALUES ('not yours')")
    db.close()
