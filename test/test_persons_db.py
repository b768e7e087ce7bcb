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

"""The persons database: permissions, rows, caps, and its failures (corrupt, locked, killed, shared)."""
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
from face_perception.identity.persons_db import PersonStore, PersonStoreError

REPO_ROOT = Path(__file__).resolve().parent.parent


def vector(seed: int) -> np.ndarray:
    values = np.random.default_rng(seed).normal(size=128).astype(np.float32)
    return values / np.linalg.norm(values)


def test_the_file_is_created_owner_only_with_wal(tmp_path):
    store = PersonStore(tmp_path / "sub" / "persons.db", "m")
    store.add_person(vector(1), 10.0)
    assert stat.S_IMODE(os.stat(tmp_path / "sub" / "persons.db").st_mode) == 0o600
    wal = tmp_path / "sub" / "persons.db-wal"
    assert wal.exists() and stat.S_IMODE(os.stat(wal).st_mode) == 0o600
    mode = sqlite3.connect(tmp_path / "sub" / "persons.db").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


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
    assert store.set_name(alice, "Alice") and store.load_embeddings()[2][alice] == "Alice"
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
