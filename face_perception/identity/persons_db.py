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
mid-transaction loses only that transaction. Every SQLite failure surfaces as
:class:`PersonStoreError` with the file's path in the message.

Whose file it is: a store creates only a new file, initialised aside and linked into place
in one step (the path is never a half-made database), owner-only (0600) in folders it makes
0700. Any file already at the path is first read over a read-only connection and used only if
it holds exactly this package's tables at this schema version; anything else is refused
without a byte of it changed.

Erasure: every connection runs with ``secure_delete`` on (SQLite overwrites deleted rows and
freed pages with zeros; builds differ in the default), and a forget, an expiry or a rename
ends with a TRUNCATE checkpoint, which copies the zeroed pages into the database file and
empties the write-ahead log, where the old page images would otherwise stay until it wraps.
"""
from __future__ import annotations

from dataclasses import dataclass
import errno
import os
from pathlib import Path
import secrets
import sqlite3
import stat
import threading
import time
from typing import Any, Callable
from urllib.parse import quote

import numpy as np

from face_perception.identity.person_names import clean_name

SCHEMA_VERSION = "1"
_SCHEMA = f"""
BEGIN;
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE persons (
    person_id TEXT PRIMARY KEY,
    name TEXT,
    first_seen REAL NOT NULL,
    last_seen REAL NOT NULL
);
CREATE TABLE embeddings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id TEXT NOT NULL REFERENCES persons(person_id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    vector BLOB NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX embeddings_person ON embeddings(person_id);
INSERT INTO meta VALUES ('schema_version', '{SCHEMA_VERSION}');
COMMIT;
"""
# What a file must hold to be ours: these tables with these columns, this index, nothing else
# (SQLite's own sqlite_* objects aside).
_TABLES = {
    "meta": ("key", "value"),
    "persons": ("person_id", "name", "first_seen", "last_seen"),
    "embeddings": ("id", "person_id", "model", "vector", "created"),
}
_INDEXES = {"embeddings_person"}
# Seconds a write waits for another process's write lock before it fails.
BUSY_TIMEOUT_S = 5.0


class PersonStoreError(RuntimeError):
    """The database file cannot be opened, read or written; the message names it and the cause."""


class ErasureIncomplete(PersonStoreError):
    """Rows were deleted, but old copies of them stay in the write-ahead log until a later checkpoint."""


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

    Switching a file to WAL needs an exclusive lock, and SQLite answers "database is locked"
    there at once, without its busy timeout, when another process is opening the same file at
    that moment (two nodes started together share one file).
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


def _connect(path: Path, mode: str, timeout: float = BUSY_TIMEOUT_S) -> sqlite3.Connection:
    """
    Open ``path`` (``mode``: "rw", "ro" or "immutable"; never creates it) with secure_delete on.

    secure_delete is set on every connection this package opens, whatever the SQLite build's
    default: deleted rows are overwritten with zeros instead of left in free space.
    """
    query = "immutable=1" if mode == "immutable" else f"mode={mode}"
    db = sqlite3.connect(f"file:{quote(str(path.absolute()))}?{query}", uri=True, timeout=timeout,
                         check_same_thread=False, isolation_level=None)
    try:
        db.execute("PRAGMA secure_delete=ON")
        if db.execute("PRAGMA secure_delete").fetchone()[0] != 1:
            raise PersonStoreError(f"persons database {path}: this SQLite cannot turn on secure_delete, "
                                   "so forgotten persons would stay in the file")
    except BaseException:
        db.close()
        raise
    return db


def _make_folders(folder: Path) -> None:
    """Create ``folder`` and every missing folder above it, each owner-only (0700)."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for created in reversed(missing):
        try:
            os.mkdir(created, 0o700)
        except FileExistsError:
            continue  # another process made it at this moment: theirs, left as it is
        os.chmod(created, 0o700)  # exactly 0700, whatever the umask


def _create(path: Path) -> None:
    """
    Create a new, initialised persons file at ``path`` unless a file appeared there meanwhile.

    The file is built under a temporary name beside ``path`` and hard-linked into place, which
    fails if ``path`` exists: another process that created it first wins, and whatever is at
    ``path`` is then checked like any existing file.
    """
    _make_folders(path.parent)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.new")
    os.close(os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600))
    try:
        db = _connect(temporary, "rw")
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
        finally:
            db.close()  # the last connection: checkpoints and removes the temporary -wal and -shm
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        except OSError as error:
            if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
                raise
            # No hard links on this filesystem (FAT, some network mounts): a rename, which would
            # replace a file, only while none is there (a narrow race two nodes could lose).
            if not os.path.lexists(path):
                os.rename(temporary, path)
    finally:
        for leftover in (temporary, Path(f"{temporary}-wal"), Path(f"{temporary}-shm")):
            leftover.unlink(missing_ok=True)


def check_persons_file(path: Path) -> None:
    """
    Raise :class:`PersonStoreError` (one line) unless ``path`` is a persons database of this schema version.

    Reads only, over a read-only SQLite connection (never a plain open: closing that would drop
    the locks other SQLite connections of this process hold on the file). A file that no
    process has open in WAL mode (no ``-wal`` and ``-shm`` beside it) is read as immutable,
    since a read-only connection would create those two files for a WAL database.
    """
    refused = f"persons database {path}"
    in_use = Path(f"{path}-wal").exists() and Path(f"{path}-shm").exists()
    try:
        db = _connect(path, "ro" if in_use else "immutable")
        try:
            objects = db.execute("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite^_%' ESCAPE '^'"
                                 ).fetchall()
            columns = {table: tuple(row[1] for row in db.execute(f"PRAGMA table_info({table})").fetchall())
                       for table in _TABLES}
            row = (db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
                   if columns["meta"] == _TABLES["meta"] else None)
        finally:
            db.close()
    except sqlite3.DatabaseError as error:
        if "not a database" not in str(error):
            raise
        raise PersonStoreError(f"{refused}: not an SQLite database; refused, left untouched") from error
    tables = {name for kind, name in objects if kind == "table"}
    others = {name for kind, name in objects if kind != "table"}
    if tables != set(_TABLES) or others != _INDEXES:
        found = ", ".join(sorted(tables | others)) or "none, an empty database"
        raise PersonStoreError(f"{refused}: not a persons database (its tables and indexes: {found}); "
                               "refused, left untouched")
    for table, expected in _TABLES.items():
        if columns[table] != expected:
            raise PersonStoreError(f"{refused}: table {table} has columns {', '.join(columns[table])}, not a persons "
                                   "database; refused, left untouched")
    if row is None or row[0] != SCHEMA_VERSION:
        version = "none" if row is None else row[0]
        raise PersonStoreError(f"{refused}: schema version {version}, this package reads {SCHEMA_VERSION}; "
                               "refused, left untouched")


def mode_warning(path: Path) -> str:
    """Return a warning when ``path`` is readable or writable by others than its owner, else ""."""
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & 0o077:
        return (f"persons database {path}: file mode {mode:04o} is wider than owner-only; "
                f"others may read the face descriptors (chmod 600 {path})")
    return ""


class PersonStore:
    """One SQLite persons file; thread-safe (one connection behind a lock)."""

    def __init__(self, path: str | os.PathLike, model: str, max_embeddings_per_person: int = 10,
                 busy_timeout: float = BUSY_TIMEOUT_S, create: bool = True) -> None:
        """
        Open the persons file at ``path``; with ``create``, make a new one if there is none.

        Raise :class:`PersonStoreError` when there is no file (and not ``create``), when the
        file is not a persons database of this schema version, or when SQLite fails.
        """
        self.path = Path(os.path.expanduser(str(path)))
        self.model = model
        self.max_embeddings_per_person = max_embeddings_per_person
        self._lock = threading.Lock()
        # The newest descriptor row load_embeddings has read: add_person_if_new checks the later ones.
        self.last_embedding_id = 0
        # Things the owner should know (a file mode wider than 0600); the node logs them, the CLI prints them.
        self.warnings: list[str] = []
        # A checkpoint that could not finish: old copies of deleted rows wait in the WAL; retried at each write.
        self._erasure_due = False
        self._busy_timeout = busy_timeout
        try:
            if not os.path.lexists(self.path):
                if not create:
                    raise PersonStoreError(f"no database at {self.path}")
                _create(self.path)
            check_persons_file(self.path)
            self.warnings = [w for w in (mode_warning(self.path),) if w]
            self._db = _connect(self.path, "rw", busy_timeout)
            try:
                _retry_while_busy(self._prepare, busy_timeout)
            except BaseException:
                self._db.close()
                raise
        except (OSError, sqlite3.Error) as error:
            raise PersonStoreError(f"persons database {self.path}: {error}") from error

    def _prepare(self) -> None:
        """Set this connection up (the file is ours, and already WAL unless changed by hand)."""
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _run(self, action, *args, erase: Callable[[Any], bool] | None = None, report: bool = True):
        """
        Run ``action(connection, *args)`` in one transaction; SQLite errors become PersonStoreError.

        When ``erase(result)`` is true (the action deleted or replaced personal data), the
        write-ahead log is then emptied (:meth:`_clear_old_copies`); ``report``: raise
        :class:`ErasureIncomplete` if that could not finish.
        """
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    result = action(self._db, *args)
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.Error as error:
                raise PersonStoreError(f"persons database {self.path}: {error}") from error
            if erase is not None and erase(result):
                self._clear_old_copies(wait=True, report=report)
            elif self._erasure_due:
                self._clear_old_copies(wait=False, report=False)
            return result

    def _clear_old_copies(self, wait: bool, report: bool) -> None:
        """
        Copy every page of the WAL into the database file and truncate the WAL to zero bytes.

        With secure_delete the pages of a deletion hold zeros where the rows were; the WAL
        still holds the earlier images of those pages until this checkpoint. A TRUNCATE
        checkpoint waits (``wait``: up to the busy timeout) for other connections' reads to
        end; if one still reads then, the rows are deleted but their old copies stay in the
        WAL, and the checkpoint is tried again, without waiting, after every later
        transaction until it finishes. The caller holds the lock.
        """
        try:
            if not wait:
                self._db.execute("PRAGMA busy_timeout=0")
            busy = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            detail = "another connection was reading the file"
        except sqlite3.Error as error:
            busy, detail = 1, str(error)
        finally:
            if not wait:
                self._db.execute(f"PRAGMA busy_timeout={int(self._busy_timeout * 1000)}")
        self._erasure_due = bool(busy)
        if busy and report:
            raise ErasureIncomplete(f"persons database {self.path}: deleted, but old copies stay in {self.path}-wal "
                                    f"until a checkpoint can run ({detail}); retried after every later change")

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
        name = clean_name(name) if name else ""

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
        """
        Name a person (the name rule of :mod:`person_names` applies); False if there is no such person.

        Raise :class:`~face_perception.identity.person_names.InvalidName` for a name the rule
        refuses. The old name is erased like a forgotten row.
        """
        name = clean_name(name)
        return self._run(lambda db: db.execute("UPDATE persons SET name=? WHERE person_id=?",
                                               (name, person_id)).rowcount > 0, erase=bool)

    def forget(self, person_id: str) -> bool:
        """
        Delete a person and every descriptor of theirs, and erase the old copies; False if there was no such person.

        Raise :class:`ErasureIncomplete` when the rows are deleted but the WAL could not be
        emptied yet (another connection kept reading).
        """
        def write(db):
            db.execute("DELETE FROM embeddings WHERE person_id=?", (person_id,))
            return db.execute("DELETE FROM persons WHERE person_id=?", (person_id,)).rowcount > 0
        return self._run(write, erase=bool)

    def forget_all(self) -> int:
        """Delete every person and descriptor, and erase the old copies; return how many persons there were."""
        def write(db):
            db.execute("DELETE FROM embeddings")
            return db.execute("DELETE FROM persons").rowcount
        return self._run(write, erase=bool)

    def forget_anonymous_before(self, cutoff: float) -> list[str]:
        """
        Forget every unnamed person last seen before ``cutoff`` (Unix time); return their ids.

        Their old copies are erased like :meth:`forget`'s; when another connection keeps the
        WAL from being emptied, the erasure is retried after later changes instead of raising
        (this runs on the identity worker, which must go on).
        """
        def write(db):
            ids = [row[0] for row in db.execute(
                "SELECT person_id FROM persons WHERE name IS NULL AND last_seen < ?", (cutoff,)).fetchall()]
            for person_id in ids:
                db.execute("DELETE FROM embeddings WHERE person_id=?", (person_id,))
                db.execute("DELETE FROM persons WHERE person_id=?", (person_id,))
            return ids
        return self._run(write, erase=bool, report=False)


def _blob(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()
