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
The persons database: permissions, rows, caps, erasure, whose file it is, names, and its failures.

(Corrupt, locked, killed, shared, not ours.) Erasure is checked on the raw bytes of every file of
the database while it is open, with SQLite's secure_delete off by default (test/persons_files.py).
"""
from __future__ import annotations

import os
from pathlib import Path
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from face_perception.identity.person_matching import match_confidence, PersonGallery, PersonMatcher
from face_perception.identity.person_names import clean_name, InvalidName, MAX_NAME_LENGTH, printable_name
from face_perception.identity.persons_db import ErasureIncomplete, PersonStore, PersonStoreError, SCHEMA_VERSION
from persons_files import fingerprint, other_application, remnants, SECURE_DELETE_OFF, SIBLINGS, stored_descriptors

REPO_ROOT = Path(__file__).resolve().parent.parent


def vector(seed: int) -> np.ndarray:
    values = np.random.default_rng(seed).normal(size=128).astype(np.float32)
    return values / np.linalg.norm(values)


def test_the_file_is_created_owner_only_with_wal_in_owner_only_folders(tmp_path):
    store = PersonStore(tmp_path / "robot" / "state" / "persons.db", "m")
    store.add_person(vector(1), 10.0)
    assert stat.S_IMODE(os.stat(tmp_path / "robot" / "state" / "persons.db").st_mode) == 0o600
    wal = tmp_path / "robot" / "state" / "persons.db-wal"
    assert wal.exists() and stat.S_IMODE(os.stat(wal).st_mode) == 0o600
    # Every folder it made is 0700, not only the last; the one that existed is left as it was.
    assert [stat.S_IMODE(os.stat(folder).st_mode) for folder in (tmp_path / "robot", tmp_path / "robot" / "state")
            ] == [0o700, 0o700]
    assert sorted(p.name for p in wal.parent.iterdir()) == ["persons.db", "persons.db-shm", "persons.db-wal"]
    mode = sqlite3.connect(tmp_path / "robot" / "state" / "persons.db").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    assert store.warnings == []


def test_a_file_wider_than_owner_only_is_warned_about(tmp_path):
    path = tmp_path / "p.db"
    PersonStore(path, "m").close()
    os.chmod(path, 0o644)
    warnings = PersonStore(path, "m").warnings
    assert len(warnings) == 1 and "0644" in warnings[0] and str(path) in warnings[0]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644  # warned, not changed behind the owner's back


def test_persons_names_caps_and_forgetting(tmp_path):
    store = PersonStore(tmp_path / "p.db", "m", max_embeddings_per_person=3)
    alice = store.add_person(vector(1), 10.0)
    bob = store.add_person(vector(2), 11.0, name="Bob")
    for k in range(5):
        assert store.add_embedding(alice, vector(100 + k), 20.0 + k)
    assert not store.add_embedding("nobody", vector(3), 30.0)
    by_id = {p.person_id: p for p in store.persons()}
    assert by_id[alice].embeddings == 3 and by_id[alice].last_seen == 24.0 and by_id[alice].name == ""
    assert by_id[bob].name == "Bob" and by_id[bob].embeddings == 1
    ids, matrix, names = store.load_embeddings()
    assert matrix.shape == (4, 128) and ids.count(alice) == 3
    np.testing.assert_array_equal(matrix[ids.index(alice)], vector(102))  # the newest three kept
    assert store.set_name(alice, " Alice\t") and store.load_embeddings()[2][alice] == "Alice"  # the name rule
    with pytest.raises(InvalidName, match="U\\+202E"):
        store.set_name(alice, "\u202eecilA")
    assert store.forget(bob) and not store.forget(bob)
    assert [p.person_id for p in store.persons()] == [alice]
    rows = sqlite3.connect(tmp_path / "p.db").execute("SELECT COUNT(*) FROM embeddings WHERE person_id=?", (bob,))
    assert rows.fetchone()[0] == 0


def test_anonymous_persons_expire_and_named_ones_stay(tmp_path):
    store = PersonStore(tmp_path / "p.db", "m")
    old = store.add_person(vector(1), 10.0)
    named = store.add_person(vector(2), 10.0, name="Carol")
    recent = store.add_person(vector(3), 100.0)
    assert store.forget_anonymous_before(50.0) == [old]
    assert {p.person_id for p in store.persons()} == {named, recent}


def test_matcher_matches_within_threshold_and_creates_beyond(tmp_path):
    store = PersonStore(tmp_path / "p.db", "m")
    matcher = PersonMatcher(store, threshold=0.5)
    first = matcher.match(vector(1), 1.0)
    assert first.new and first.name == ""
    near = vector(1) + 0.01 * vector(7)
    again = matcher.match(near, 2.0)
    assert not again.new and again.person_id == first.person_id
    assert again.confidence == pytest.approx(match_confidence(again.distance, 0.5)) and again.confidence > 0.5
    other = matcher.match(vector(2), 3.0)  # unit vectors at random are ~1.4 apart
    assert other.new and other.person_id != first.person_id
    # Another connection (another node, the CLI) names the person: the matcher sees it.
    PersonStore(tmp_path / "p.db", "m").set_name(first.person_id, "Dana")
    assert matcher.match(near, 4.0).name == "Dana"


def test_two_cameras_seeing_a_new_face_at_once_make_one_person(tmp_path):
    front, rear = PersonStore(tmp_path / "p.db", "m"), PersonStore(tmp_path / "p.db", "m")
    rear.load_embeddings()  # rear's gallery is current: nobody is stored
    stored = front.add_person(vector(1), 1.0)  # front stores the face a moment earlier
    # rear, not knowing yet, would create the same face again: the write transaction finds front's row.
    person, created, distance = rear.add_person_if_new(vector(1) + 0.01 * vector(2), 1.1, threshold=0.5)
    assert (person, created) == (stored, False) and distance < 0.5
    other, created, _ = rear.add_person_if_new(vector(3), 1.2, threshold=0.5)
    assert created and other != stored and len(front.persons()) == 2


def test_the_gallery_finds_the_nearest_row_as_it_grows():
    gallery, rows = PersonGallery(), []
    rng = np.random.default_rng(5)
    assert gallery.nearest(vector(1)) is None
    for k in range(70):  # past several capacity doublings
        rows.append(rng.normal(size=128).astype(np.float32))
        gallery.add(f"p{k % 7}", rows[-1])
        probe = rng.normal(size=128).astype(np.float32)
        distances = np.linalg.norm(np.array(rows) - probe, axis=1)
        person, distance = gallery.nearest(probe)
        assert person == f"p{int(np.argmin(distances)) % 7}" and distance == pytest.approx(distances.min(), rel=1e-4)


def test_a_corrupt_file_is_refused_with_its_path(tmp_path):
    path = tmp_path / "p.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(PersonStoreError, match=str(path)):
        PersonStore(path, "m")


def test_an_unwritable_place_is_refused(tmp_path):
    (tmp_path / "a_file").write_text("x")  # a folder that cannot exist: refused also for root
    with pytest.raises(PersonStoreError, match="persons database"):
        PersonStore(tmp_path / "a_file" / "p.db", "m")


def test_a_read_only_file_is_refused_on_write(tmp_path):
    path = tmp_path / "p.db"
    PersonStore(path, "m").add_person(vector(1), 1.0)
    store = PersonStore(path, "m")
    store._db.execute("PRAGMA query_only=ON")  # what a read-only file gives every write, also as root
    with pytest.raises(PersonStoreError, match=str(path)):
        store.add_person(vector(2), 2.0)


def test_a_locked_file_gives_an_error_not_a_hang(tmp_path):
    path = tmp_path / "p.db"
    store = PersonStore(path, "m", busy_timeout=0.2)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    start = time.monotonic()
    with pytest.raises(PersonStoreError, match="locked"):
        store.add_person(vector(1), 1.0)
    assert time.monotonic() - start < 2.0
    holder.execute("ROLLBACK")
    store.add_person(vector(1), 1.0)  # and it works again once the lock is gone


WRITER = textwrap.dedent("""
    import sys, numpy as np
    from face_perception.identity.persons_db import PersonStore
    store = PersonStore(sys.argv[1], "m")
    rng = np.random.default_rng(int(sys.argv[2]))
    for k in range(int(sys.argv[3])):
        person = store.add_person(rng.normal(size=128).astype(np.float32), float(k))
        for _ in range(3):
            store.add_embedding(person, rng.normal(size=128).astype(np.float32), float(k))
        print(person, flush=True)
""")


def test_a_writer_killed_mid_write_loses_no_stored_person(tmp_path):
    path = tmp_path / "p.db"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path), "1", "100000"], stdout=subprocess.PIPE,
                              text=True, cwd=REPO_ROOT)
    stored = []
    assert writer.stdout is not None
    while len(stored) < 40:
        stored.append(writer.stdout.readline().strip())
    os.kill(writer.pid, signal.SIGKILL)  # in the middle of its next transactions
    writer.wait()
    stored += [line.strip() for line in writer.stdout if line.strip()]
    store = PersonStore(path, "m")
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    persons = {p.person_id: p for p in store.persons()}
    assert set(stored) <= set(persons)
    # Every person printed was committed whole: their first descriptor and three more.
    assert all(persons[p].embeddings == 4 for p in stored)


def test_two_processes_write_one_file_at_once(tmp_path):
    path = tmp_path / "p.db"
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(seed), "40"], stdout=subprocess.PIPE,
                                text=True, cwd=REPO_ROOT) for seed in (1, 2)]
    written = [set(w.communicate(timeout=120)[0].split()) for w in writers]
    assert [w.returncode for w in writers] == [0, 0]
    persons = {p.person_id: p for p in PersonStore(path, "m").persons()}
    assert set(persons) == written[0] | written[1] and len(persons) == 80
    assert all(p.embeddings == 4 for p in persons.values())


OPENER = textwrap.dedent("""
    import sys, time
    from face_perception.identity.persons_db import PersonStore
    start = float(sys.argv[2])
    while time.time() < start:  # all processes open the new file at the same moment
        pass
    store = PersonStore(sys.argv[1], "m")
    store.add_person(__import__("numpy").ones(128, "float32"), 0.0)
""")


def test_nodes_started_together_all_open_one_new_file(tmp_path):
    # Two of them switching the new file to WAL at once: SQLite answers one "database is
    # locked" at once, without waiting (seen in CI); the store retries within its timeout.
    for trial in range(3):
        path, start = tmp_path / f"p{trial}.db", time.time() + 2.0
        openers = [subprocess.Popen([sys.executable, "-c", OPENER, str(path), str(start)], stderr=subprocess.PIPE,
                                    text=True, cwd=REPO_ROOT) for _ in range(6)]
        errors = [o.communicate(timeout=120)[1] for o in openers]
        assert [o.returncode for o in openers] == [0] * 6, "\n".join(errors)
        assert len(PersonStore(path, "m").persons()) == 6


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "face_perception.bringup.persons_cli", *args],
                          capture_output=True, text=True, timeout=60, cwd=REPO_ROOT)


def test_the_cli_lists_names_and_forgets(tmp_path):
    path = tmp_path / "p.db"
    store = PersonStore(path, "dlib_resnet_v1")
    kept, gone = store.add_person(vector(1), 1.0), store.add_person(vector(2), 2.0, name="Eve")
    assert run_cli("--database", str(path), "name", kept, "Frank").returncode == 0
    assert run_cli("--database", str(path), "forget", gone).returncode == 0
    missing = run_cli("--database", str(path), "forget", gone)
    assert missing.returncode == 1 and gone in missing.stderr
    listed = run_cli("--database", str(path), "list")
    assert listed.returncode == 0 and kept in listed.stdout and "Frank" in listed.stdout and gone not in listed.stdout
    (tmp_path / "bad.db").write_bytes(b"x" * 5000)
    broken = run_cli("--database", str(tmp_path / "bad.db"), "list")
    assert broken.returncode == 1 and "bad.db" in broken.stderr and "Traceback" not in broken.stderr


# --- erasure: raw bytes of every file, SQLite's secure_delete off by default -------------
def secrets_of(store: PersonStore, person_id: str, name: str = "") -> dict[str, bytes]:
    """Label -> bytes of everything stored about a person: each descriptor, and the name."""
    found = {f"{person_id} descriptor {k}": blob for k, blob in enumerate(stored_descriptors(store.path, person_id))}
    return {**found, **({f"{person_id} name": name.encode()} if name else {})}


def test_the_default_here_is_off_and_then_deleted_rows_stay_on_disk(tmp_path, secure_delete_off):
    # The control: an SQLite connection as this test's fixture makes them (a build without
    # secure_delete by default) leaves a deleted row in the file, and a WAL checkpoint alone
    # does not remove it. The next test's files are scanned the same way.
    path = tmp_path / "plain.db"
    db = sqlite3.connect(path, isolation_level=None)
    assert db.execute("PRAGMA secure_delete").fetchone()[0] == 0
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE t (v BLOB)")
    secret = vector(9).tobytes()
    db.execute("INSERT INTO t VALUES (?)", (secret,))
    db.execute("DELETE FROM t")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert remnants(path, {"row": secret}) == ["plain.db: row"]
    db.close()


def test_forgetting_and_expiry_leave_no_copy_in_any_file_while_the_store_is_open(tmp_path, secure_delete_off):
    path = tmp_path / "p.db"
    store = PersonStore(path, "m", max_embeddings_per_person=4)
    other_node = PersonStore(path, "m")  # a second camera's node on the same file, open throughout
    gone = store.add_person(vector(1), time.time(), name="Ingrid Forgotten")
    for k in range(6):  # past the cap: dropped descriptors and page rewrites
        store.add_embedding(gone, vector(10 + k), time.time())
    expired = store.add_person(vector(2), time.time() - 7200.0)
    store.add_embedding(expired, vector(30), time.time() - 7200.0)
    kept = store.add_person(vector(3), time.time(), name="Karl Kept")
    for k in range(30):  # enough rows that the persons span several pages
        other_node.add_person(vector(100 + k), time.time())
    other_node.load_embeddings()
    forgotten = {**secrets_of(store, gone, "Ingrid Forgotten"), **secrets_of(store, expired)}
    still_there = secrets_of(store, kept, "Karl Kept")
    assert len(forgotten) == 4 + 1 + 2
    assert remnants(path, forgotten)  # before: on disk (the scan sees them)
    assert store.forget(gone)
    assert other_node.forget_anonymous_before(time.time() - 3600.0) == [expired]
    assert remnants(path, forgotten) == []  # the .db, -wal and -shm, both connections still open
    assert len(remnants(path, still_there)) == 2  # the kept person is still there, found by the same scan
    assert {gone, expired}.isdisjoint(p.person_id for p in other_node.persons())
    assert os.path.getsize(f"{path}-wal") == 0


def test_an_erasure_a_reader_holds_up_is_reported_and_finished_later(tmp_path, secure_delete_off):
    path = tmp_path / "p.db"
    store = PersonStore(path, "m", busy_timeout=0.2)
    gone = store.add_person(vector(1), 1.0)
    forgotten = secrets_of(store, gone)
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT COUNT(*) FROM embeddings").fetchone()  # a read transaction left open
    with pytest.raises(ErasureIncomplete, match="-wal"):
        store.forget(gone)
    assert store.persons() == [] and remnants(path, forgotten)  # rows deleted, old copies wait in the WAL
    reader.execute("COMMIT")
    store.add_person(vector(2), 2.0)  # the next change finishes the erasure
    assert remnants(path, forgotten) == []


# --- only our own files --------------------------------------------------------------------
def own_persons_table(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE persons (id INTEGER PRIMARY KEY, email TEXT)")
    db.commit()
    db.close()


def newer_schema(path: Path) -> None:
    PersonStore(path, "m").close()
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value='2' WHERE key='schema_version'")
    db.commit()
    db.close()


NOT_OURS = {
    "another application's database": (other_application, "notes"),
    "another application's database in WAL mode": (lambda path: other_application(path, wal=True), "notes"),
    "a database with its own persons table": (own_persons_table, "not a persons database"),
    "our tables at a newer schema version": (newer_schema, f"schema version 2, this package reads {SCHEMA_VERSION}"),
    "an empty file": (lambda path: path.write_bytes(b""), "none, an empty database"),
    "not SQLite at all": (lambda path: path.write_bytes(b"garbage" * 700), "not an SQLite database"),
}


@pytest.mark.parametrize("kind", NOT_OURS)
def test_a_file_that_is_not_ours_is_refused_and_left_byte_for_byte(tmp_path, kind):
    make, reason = NOT_OURS[kind]
    path = tmp_path / "p.db"
    make(path)
    before = fingerprint(path)
    assert not any(Path(f"{path}{suffix}").exists() for suffix in SIBLINGS)
    with pytest.raises(PersonStoreError) as refused:
        PersonStore(path, "m")
    message = str(refused.value)
    assert reason in message and str(path) in message and "\n" not in message
    assert fingerprint(path) == before  # same bytes, and no -wal, -shm or journal appeared


# --- the name rule -----------------------------------------------------------------------
@pytest.mark.parametrize("raw, stored", [
    ("  Ada Lovelace \n", "Ada Lovelace"),
    ("Zoe\u0301", "Zo\u00e9"),  # one spelling (NFC)
    ("\u0645\u0647\u200c\u0646\u0627\u0632", "\u0645\u0647\u200c\u0646\u0627\u0632"),  # Persian, with ZWNJ
    ("\u5c71\u7530\u3000\u592a\u90ce", "\u5c71\u7530\u3000\u592a\u90ce"),  # ideographic space inside
    ("x" * MAX_NAME_LENGTH, "x" * MAX_NAME_LENGTH),
])
def test_the_name_rule_keeps_real_names(raw, stored):
    assert clean_name(raw) == stored


@pytest.mark.parametrize("raw, reason", [
    ("", "empty"),
    (" \t\n", "empty"),
    ("Ada\nLovelace", "U+000A"),
    ("\x1b[31mAda\x1b[0m", "U+001B"),
    ("Ada\u202eecalevoL", "U+202E RIGHT-TO-LEFT OVERRIDE"),
    ("\u2067Ada\u2069", "U+2067 RIGHT-TO-LEFT ISOLATE"),
    ("Ada\u200f", "U+200F RIGHT-TO-LEFT MARK"),
    ("\ufeffAda", "U+FEFF"),
    ("Ada\u2028Lovelace", "U+2028 LINE SEPARATOR"),
    ("Ada\ue000", "U+E000"),
    ("x" * (MAX_NAME_LENGTH + 1), f"more than {MAX_NAME_LENGTH}"),
])
def test_the_name_rule_refuses_with_the_reason(raw, reason):
    with pytest.raises(InvalidName, match=reason.replace("+", "\\+")) as refused:
        clean_name(raw)
    assert "\n" not in str(refused.value) and "\x1b" not in str(refused.value)


def test_names_stored_before_the_rule_print_escaped():
    assert printable_name("Ada\x1b[2J\u202e") == "Ada\\x1b[2J\\u202e" and printable_name("Zo\u00e9") == "Zo\u00e9"


# --- the CLI: only existing files, the name rule, erasure ----------------------------------
def run_cli_without_secure_delete(*args: str) -> subprocess.CompletedProcess:
    """Run the CLI in a process whose SQLite connections start with secure_delete off."""
    return subprocess.run([sys.executable, "-c", SECURE_DELETE_OFF, "face_perception.bringup.persons_cli", *args],
                          capture_output=True, text=True, timeout=60, cwd=REPO_ROOT)


def test_the_cli_opens_only_existing_files(tmp_path):
    missing = tmp_path / "typo" / "persons.db"
    for command in (["list"], ["forget-all"], ["forget", "p1"], ["name", "p1", "Ada"]):
        result = run_cli("--database", str(missing), *command)
        assert result.returncode == 1, command
        assert result.stderr.strip() == f"face-perception-persons: no database at {missing}", result.stderr
    assert not (tmp_path / "typo").exists()  # no folder, no file
    created = run_cli("--database", str(missing), "init")
    assert created.returncode == 0 and missing.exists(), created.stderr
    assert [stat.S_IMODE(os.stat(p).st_mode) for p in (missing.parent, missing)] == [0o700, 0o600]
    again = run_cli("--database", str(missing), "init")
    assert again.returncode == 1 and "exists already" in again.stderr
    listed = run_cli("--database", str(missing), "list")
    assert listed.returncode == 0 and listed.stdout == "" and listed.stderr == ""
    other = tmp_path / "notes.db"
    other_application(other)
    before = fingerprint(other)
    for command in (["list"], ["forget-all"], ["init"]):
        refused = run_cli("--database", str(other), *command)
        assert refused.returncode == 1 and str(other) in refused.stderr and "Traceback" not in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
    assert fingerprint(other) == before
    os.chmod(missing, 0o640)
    warned = run_cli("--database", str(missing), "list")
    assert warned.returncode == 0 and "warning" in warned.stderr and "0640" in warned.stderr


def test_the_cli_applies_the_name_rule(tmp_path):
    path = tmp_path / "p.db"
    person = PersonStore(path, "dlib_resnet_v1").add_person(vector(1), 1.0)
    for bad, reason in (("Ada\nLovelace", "U+000A"), ("\x1b]0;pwned\x07", "U+001B"), ("Ada\u202e", "U+202E"),
                        ("x" * 10000, "10000 characters"), ("   ", "empty")):
        result = run_cli("--database", str(path), "name", person, bad)
        assert result.returncode == 1 and reason in result.stderr, (bad[:20], result.stderr)
        assert result.stderr.startswith("face-perception-persons: name: ")
        assert "\x1b" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert run_cli("--database", str(path), "name", person, "  Ada Lovelace ").returncode == 0
    assert [p.name for p in PersonStore(path, "dlib_resnet_v1").persons()] == ["Ada Lovelace"]


def test_the_cli_forgets_for_real_while_a_node_has_the_file_open(tmp_path, secure_delete_off):
    path = tmp_path / "p.db"
    node = PersonStore(path, "dlib_resnet_v1")  # a running node's connection, kept open
    gone = node.add_person(vector(1), 1.0, name="Olga Gone")
    node.add_embedding(gone, vector(2), 2.0)
    others = [node.add_person(vector(10 + k), 3.0) for k in range(3)]
    forgotten = secrets_of(node, gone, "Olga Gone")
    assert len(forgotten) == 3 and remnants(path, forgotten)
    result = run_cli_without_secure_delete("--database", str(path), "forget", gone)
    assert result.returncode == 0, result.stderr
    assert remnants(path, forgotten) == []
    everyone = {label: blob for person in others for label, blob in secrets_of(node, person).items()}
    assert run_cli_without_secure_delete("--database", str(path), "forget-all").stdout == "forgot 3 persons\n"
    assert remnants(path, everyone) == [] and node.persons() == []
