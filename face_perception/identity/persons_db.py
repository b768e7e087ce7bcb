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
The persons database: one SQLite file of persons and their face descriptors (no images).

WAL journal, so several camera nodes (processes) read while one writes, and a writer killed
mid-transaction loses only that transaction. The file is created owner-only (0600). Every
SQLite failure surfaces as :class:`PersonStoreError` with the file's path in the message.
"""
from __future__ import annotations

from dataclasses import dataclass
import os
from pathlib import Path
import secrets
import sqlite3
import threading
import time

import numpy as np

SCHEMA_VERSION = "1"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS persons (
    person_id TEXT PRIMARY KEY,
    name TEXT,
    first_seen REAL NOT NULL,
    last_seen REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS embeddings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id TEXT NOT NULL REFERENCES persons(person_id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    vector BLOB NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS embeddings_person ON embeddings(person_id);
"""
# Seconds a write waits for another process's write lock before it fails.
BUSY_TIMEOUT_S = 5.0


class PersonStoreError(RuntimeError):
    """The database file cannot be opened, read or written; the message names it and the cause."""


@dataclass(frozen=True)
class StoredPerson:
    person_id: str
    name: str  # "" = anonymous
    first_seen: float  # Unix time
    last_seen: float
    embeddings: int


def _retry_while_busy(action, timeout: float):
    """
    Run ``action()``, retrying while another connection holds the file's lock, for up to ``timeout`` s.

    Switching a new file to WAL and the first schema write need an exclusive lock, and SQLite
    answers "database is locked" there at once, without its busy timeout, when another process
    is opening the same new file at that moment (two nodes started together share one file).
    """
    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        try:
            return action()
        except sqlite3.OperationalError as error:
            busy = "locked" in str(error) or "busy" in str(error)
            if not busy or time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.25)


def new_person_id() -> str:
    """Return a fresh REP-155-style id: short, random (48 bits: no collision in practice), valid in a ROS name."""
    return "p" + secrets.token_hex(6)


class PersonStore:
    """One SQLite persons file; thread-safe (one connection behind a lock)."""

    def __init__(self, path: str | os.PathLike, model: str, max_embeddings_per_person: int = 10,
                 busy_timeout: float = BUSY_TIMEOUT_S) -> None:
        self.path = Path(os.path.expanduser(str(path)))
        self.model = model
        self.max_embeddings_per_person = max_embeddings_per_person
        self._lock = threading.Lock()
        # The newest descriptor row load_embeddings has read: add_person_if_new checks the later ones.
        self.last_embedding_id = 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            # Created owner-only before SQLite opens it; SQLite gives its -wal/-shm files the same mode.
            os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
            self._db = sqlite3.connect(self.path, timeout=busy_timeout, check_same_thread=False,
                                       isolation_level=None)
            version = _retry_while_busy(self._prepare, busy_timeout)
        except (OSError, sqlite3.Error) as error:
            raise PersonStoreError(f"persons database {self.path}: {error}") from error
        if version != SCHEMA_VERSION:
            raise PersonStoreError(f"persons database {self.path}: schema version {version}, expected {SCHEMA_VERSION}")

    def _prepare(self) -> str:
        """Switch to WAL, create the tables if missing; return the file's schema version."""
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)
        self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
        return self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _run(self, action, *args):
        """Run ``action(connection, *args)`` in one transaction; SQLite errors become PersonStoreError."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    result = action(self._db, *args)
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
                return result
            except sqlite3.Error as error:
                raise PersonStoreError(f"persons database {self.path}: {error}") from error

    # --- reads -------------------------------------------------------------------------
    def data_version(self) -> int:
        """Return a number that changes when another connection (another node, the CLI) commits."""
        with self._lock:
            try:
                return int(self._db.execute("PRAGMA data_version").fetchone()[0])
            except sqlite3.Error as error:
                raise PersonStoreError(f"persons database {self.path}: {error}") from error

    def load_embeddings(self) -> tuple[list[str], np.ndarray, dict[str, str]]:
        """Return (person id per row, the rows as an (N, D) float32 array, person id -> name) for this model."""
        def read(db):
            rows = db.execute("SELECT person_id, vector FROM embeddings WHERE model=? ORDER BY id",
                              (self.model,)).fetchall()
            names = dict(db.execute("SELECT person_id, COALESCE(name, '') FROM persons").fetchall())
            self.last_embedding_id = db.execute("SELECT COALESCE(MAX(id), 0) FROM embeddings").fetchone()[0]
            return rows, names
        rows, names = self._run(read)
        vectors = [np.frombuffer(blob, np.float32) for _, blob in rows]
        dimension = {len(v) for v in vectors}
        if len(dimension) > 1:
            raise PersonStoreError(f"persons database {self.path}: descriptors of sizes {sorted(dimension)}")
        matrix = np.stack(vectors) if vectors else np.zeros((0, 0), np.float32)
        return [person for person, _ in rows], matrix, names

    def persons(self) -> list[StoredPerson]:
        rows = self._run(lambda db: db.execute(
            "SELECT p.person_id, COALESCE(p.name, ''), p.first_seen, p.last_seen, COUNT(e.id) FROM persons p "
            "LEFT JOIN embeddings e ON e.person_id = p.person_id GROUP BY p.person_id ORDER BY p.first_seen"
        ).fetchall())
        return [StoredPerson(*row) for row in rows]

    # --- writes ------------------------------------------------------------------------
    def add_person(self, vector: np.ndarray, now: float, name: str = "") -> str:
        """Store a new person with one descriptor; return their id."""
        person_id = new_person_id()

        def write(db):
            db.execute("INSERT INTO persons VALUES (?, ?, ?, ?)", (person_id, name or None, now, now))
            db.execute("INSERT INTO embeddings (person_id, model, vector, created) VALUES (?, ?, ?, ?)",
                       (person_id, self.model, _blob(vector), now))
        self._run(write)
        return person_id

    def add_person_if_new(self, vector: np.ndarray, now: float, threshold: float) -> tuple[str, bool, float]:
        """
        Store a new person for ``vector``, unless another process stored a match since our last load.

        Return (person id, created, distance). The check and the insert are one write
        transaction, so two cameras that see a new face at the same moment make one person.
        """
        def write(db):
            rows = db.execute("SELECT person_id, vector FROM embeddings WHERE model=? AND id > ?",
                              (self.model, self.last_embedding_id)).fetchall()
            if rows:
                others = np.stack([np.frombuffer(blob, np.float32) for _, blob in rows])
                distances = np.linalg.norm(others - np.asarray(vector, np.float32), axis=1)
                best = int(np.argmin(distances))
                if distances[best] <= threshold:
                    db.execute("UPDATE persons SET last_seen=? WHERE person_id=?", (now, rows[best][0]))
                    return rows[best][0], False, float(distances[best])
            person_id = new_person_id()
            db.execute("INSERT INTO persons VALUES (?, ?, ?, ?)", (person_id, None, now, now))
            db.execute("INSERT INTO embeddings (person_id, model, vector, created) VALUES (?, ?, ?, ?)",
                       (person_id, self.model, _blob(vector), now))
            return person_id, True, 0.0
        return self._run(write)

    def add_embedding(self, person_id: str, vector: np.ndarray, now: float) -> bool:
        """Add a descriptor (the oldest beyond the cap are dropped) and mark the person seen; False if unknown."""
        def write(db):
            if db.execute("UPDATE persons SET last_seen=? WHERE person_id=?", (now, person_id)).rowcount == 0:
                return False
            db.execute("INSERT INTO embeddings (person_id, model, vector, created) VALUES (?, ?, ?, ?)",
                       (person_id, self.model, _blob(vector), now))
            db.execute("DELETE FROM embeddings WHERE person_id=? AND model=? AND id NOT IN (SELECT id FROM embeddings "
                       "WHERE person_id=? AND model=? ORDER BY id DESC LIMIT ?)",
                       (person_id, self.model, person_id, self.model, self.max_embeddings_per_person))
            return True
        return self._run(write)

    def touch(self, person_id: str, now: float) -> None:
        self._run(lambda db: db.execute("UPDATE persons SET last_seen=? WHERE person_id=?", (now, person_id)))

    def set_name(self, person_id: str, name: str) -> bool:
        """Name (or with "" make anonymous) a person; False if there is no such person."""
        return self._run(lambda db: db.execute("UPDATE persons SET name=? WHERE person_id=?",
                                               (name or None, person_id)).rowcount > 0)

    def forget(self, person_id: str) -> bool:
        """Delete a person and every descriptor of theirs; False if there was no such person."""
        def write(db):
            db.execute("DELETE FROM embeddings WHERE person_id=?", (person_id,))
            return db.execute("DELETE FROM persons WHERE person_id=?", (person_id,)).rowcount > 0
        return self._run(write)

    def forget_anonymous_before(self, cutoff: float) -> list[str]:
        """Forget every unnamed person last seen before ``cutoff`` (Unix time); return their ids."""
        def write(db):
            ids = [row[0] for row in db.execute(
                "SELECT person_id FROM persons WHERE name IS NULL AND last_seen < ?", (cutoff,)).fetchall()]
            for person_id in ids:
                db.execute("DELETE FROM embeddings WHERE person_id=?", (person_id,))
                db.execute("DELETE FROM persons WHERE person_id=?", (person_id,))
            return ids
        return self._run(write)


def _blob(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()
