"""Files: read/write (str, bytes, streams, many), list with depth, exists, get_info, make_dir, rename,
remove, watch_dir; relative paths resolve against /home/user."""

import io
import time

import pytest
from e2b import FileType, FilesystemEventType, NotFoundException


def test_write_and_read_text_bytes_and_streams(sandbox):
    info = sandbox.files.write("notes/hello.txt", "hello\n")
    assert info.path == "/home/user/notes/hello.txt"
    assert sandbox.files.read("notes/hello.txt") == "hello\n"
    assert sandbox.files.read("/home/user/notes/hello.txt", format="bytes") == bytearray(b"hello\n")
    blob = bytes(range(256)) * 4096  # 1 MiB, every byte value
    sandbox.files.write("/tmp/blob.bin", blob)
    assert bytes(sandbox.files.read("/tmp/blob.bin", format="bytes")) == blob
    sandbox.files.write("/tmp/stream.bin", io.BytesIO(blob))
    chunks = b"".join(sandbox.files.read("/tmp/stream.bin", format="stream"))
    assert chunks == blob
    assert sandbox.commands.run("sha256sum /tmp/blob.bin /tmp/stream.bin | awk '{print $1}' | uniq | wc -l").stdout == "1\n"


def test_write_many_files(sandbox):
    infos = sandbox.files.write_files([
        {"path": "many/a.txt", "data": "A"},
        {"path": "/tmp/many/b.bin", "data": b"\x00B"},
        {"path": "many/deep/c.txt", "data": "C"},
    ])
    assert sorted(i.path for i in infos) == ["/home/user/many/a.txt", "/home/user/many/deep/c.txt", "/tmp/many/b.bin"]
    assert sandbox.files.read("many/deep/c.txt") == "C"
    assert bytes(sandbox.files.read("/tmp/many/b.bin", format="bytes")) == b"\x00B"


def test_list_with_depth_exists_and_info(sandbox):
    sandbox.files.write("tree/a/b/c.txt", "c")
    sandbox.files.write("tree/top.txt", "top")
    names = {e.path for e in sandbox.files.list("tree")}
    assert names == {"/home/user/tree/a", "/home/user/tree/top.txt"}
    deep = {e.path: e for e in sandbox.files.list("tree", depth=3)}
    assert "/home/user/tree/a/b/c.txt" in deep
    assert deep["/home/user/tree/a"].type == FileType.DIR
    assert deep["/home/user/tree/top.txt"].type == FileType.FILE
    assert sandbox.files.exists("tree/top.txt")
    assert not sandbox.files.exists("tree/missing.txt")
    info = sandbox.files.get_info("tree/top.txt")
    assert info.size == 3 and info.name == "top.txt" and info.owner == "user"
    assert info.permissions == "-rw-r--r--"


def test_make_dir_rename_remove(sandbox):
    assert sandbox.files.make_dir("made/inner") is True
    assert sandbox.files.make_dir("made/inner") is False
    sandbox.files.write("made/inner/f.txt", "f")
    moved = sandbox.files.rename("made/inner/f.txt", "made/g.txt")
    assert moved.path == "/home/user/made/g.txt"
    assert not sandbox.files.exists("made/inner/f.txt")
    sandbox.files.remove("made")
    assert not sandbox.files.exists("made")


def test_missing_files_are_not_found(sandbox):
    with pytest.raises(NotFoundException):
        sandbox.files.read("nope/missing.txt")
    with pytest.raises(NotFoundException):
        sandbox.files.get_info("/nope")
    with pytest.raises(NotFoundException):
        sandbox.files.list("/nope")
    with pytest.raises(NotFoundException):
        sandbox.files.rename("/nope", "/tmp/x")


def test_watch_dir(sandbox):
    sandbox.files.make_dir("watched")
    handle = sandbox.files.watch_dir("watched")

    def wait_for(kind):
        deadline = time.time() + 10
        while time.time() < deadline:
            events = [e for e in handle.get_new_events() if e.name == "new.txt"]
            if any(e.type == kind for e in events):
                return events
            time.sleep(0.2)
        raise AssertionError(f"no {kind} event for new.txt")

    try:
        sandbox.files.write("watched/new.txt", "1")
        wait_for(FilesystemEventType.CREATE)
        sandbox.commands.run("echo more >> watched/new.txt")
        wait_for(FilesystemEventType.WRITE)
        sandbox.files.remove("watched/new.txt")
        wait_for(FilesystemEventType.REMOVE)
    finally:
        handle.stop()


def test_files_as_root(sandbox):
    sandbox.files.write("/tmp/secret.txt", "r", user="root")
    assert sandbox.files.get_info("/tmp/secret.txt", user="root").owner == "root"
    sandbox.commands.run("chmod 600 /tmp/secret.txt", user="root")
    assert sandbox.files.read("/tmp/secret.txt", user="root") == "r"
    with pytest.raises(Exception):
        sandbox.files.read("/tmp/secret.txt")
