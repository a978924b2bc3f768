"""The stores: a local folder and an Azure container (Azurite) keep the same promises for every verb."""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid

import pytest

from c360.errors import NotFoundError
from connectors.files.store import AzureContainer, LocalFolder, open_store


@pytest.fixture(params=["folder", "azurite"])
def store(request, tmp_path):
    if request.param == "folder":
        return LocalFolder(tmp_path / "container")
    azurite = request.getfixturevalue("azurite")
    return open_store(azurite.connection_string, azurite.new_container("store"))


def test_put_replaces_a_key_and_deletes_by_prefix_or_by_key(store):
    store.put("a/1.jsonl", b"first")
    store.put("a/1.jsonl", b"second")
    assert store.put_many([("a/2.jsonl", b"x"), ("b/1.jsonl", b"y")]) == 2
    assert store.keys() == ["a/1.jsonl", "a/2.jsonl", "b/1.jsonl"]
    assert store.get("a/1.jsonl") == b"second"
    store.delete_prefix("a/")
    assert store.keys() == ["b/1.jsonl"]
    store.delete(["b/1.jsonl"])
    assert store.keys() == []


def test_what_is_written_is_listed_with_its_size_and_fetched_as_a_local_file(store):
    store.put_many([("t/2026/01/a.jsonl", b'{"a": 1}\n'), ("t/2026/02/b.jsonl", b'{"a": 22}\n'), ("u/c", b"z")])
    assert list(store.list("t/")) == [("t/2026/01/a.jsonl", 9), ("t/2026/02/b.jsonl", 10)]
    assert store.folders("t/") == (["2026/"], False)
    with store.fetch("t/2026/02/b.jsonl", threading.Event()) as path:
        assert path.read_bytes() == b'{"a": 22}\n'
    assert list(store.listed)[-1] == "t/"


def killed_while_writing(folder, name: str) -> subprocess.Popen:
    """A real writer that opened ``.{name}.{pid}.tmp`` in ``folder``, wrote half, and was SIGKILLed."""
    script = ("import os, sys, time; f = open(os.path.join(sys.argv[1], f'.{sys.argv[2]}.{os.getpid()}.tmp'), 'wb'); "
              "f.write(b'half'); f.flush(); print('ready', flush=True); time.sleep(60)")
    writer = subprocess.Popen([sys.executable, "-c", script, str(folder), name], stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "ready"
    return writer


def test_a_folder_write_removes_what_a_killed_writer_left_and_keeps_a_live_writers_file(tmp_path):
    folder = tmp_path / "container" / "2026" / "11"
    folder.mkdir(parents=True)
    dead = killed_while_writing(folder, "window-a.jsonl")
    dead.kill()
    dead.wait(timeout=10)
    alive = killed_while_writing(folder, "window-b.jsonl")  # still writing: not killed
    try:
        LocalFolder(tmp_path / "container").put("2026/11/window-a.jsonl", b"whole")
        left = sorted(p.name for p in folder.iterdir())
        assert left == [f".window-b.jsonl.{alive.pid}.tmp", "window-a.jsonl"]
        assert (folder / "window-a.jsonl").read_bytes() == b"whole"
    finally:
        alive.kill()
        alive.wait(timeout=10)


def test_deleting_a_prefix_of_a_store_never_written_is_a_no_op(store):
    store.delete_prefix("nothing/")
    assert store.keys() == []


def test_a_missing_blob_is_not_found_naming_the_container(azurite):
    store = open_store(azurite.connection_string, azurite.new_container("store"))
    store.put("present", b"x")
    with pytest.raises(NotFoundError, match=r"^Blob container '.*': blob not found in container"):
        store.get("absent")


def test_open_store_tells_a_connection_string_from_a_folder(tmp_path, azurite):
    assert isinstance(open_store(str(tmp_path), "clicks"), LocalFolder)
    assert open_store(str(tmp_path), "clicks").root == tmp_path / "clicks"
    assert isinstance(open_store(azurite.connection_string, "clicks"), AzureContainer)


def test_writing_creates_a_missing_container_and_emptying_it_first_is_a_no_op(azurite):
    store = open_store(azurite.connection_string, f"absent-{uuid.uuid4().hex[:12]}")
    store.delete_prefix("browsing/")  # what `c360 generate` does before writing
    store.put("browsing/a", b"x")
    assert store.keys() == ["browsing/a"]


def test_a_container_lists_names_and_sizes_page_by_page_without_building_each_blobs_properties(azurite,
                                                                                               monkeypatch):
    from azure.storage.blob import _models

    from connectors.files import store as stores

    store = open_store(azurite.connection_string, azurite.new_container("store"))
    names = ["t/a b.jsonl", "t/ünï/c%20d.jsonl", "t/empty", "t/x+y&z.jsonl", "t/zz/<q>.jsonl", "u/other"]
    store.put_many([(name, name.encode() * (i + 1) if name != "t/empty" else b"") for i, name in enumerate(names)])
    expected = [(blob.name, blob.size) for blob in store.client.list_blobs(name_starts_with="t/")]
    assert len(expected) == 5 and ("t/empty", 0) in expected
    built = []
    real = _models.BlobProperties.__init__
    monkeypatch.setattr(_models.BlobProperties, "__init__",
                        lambda self, **kwargs: built.append(kwargs) or real(self, **kwargs))
    monkeypatch.setattr(stores, "LIST_PAGE", 2)  # three pages: the continuation is followed
    assert list(store.list("t/")) == expected
    assert built == []
