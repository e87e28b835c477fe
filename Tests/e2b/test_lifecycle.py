"""Pause and resume: state and files survive; paused sandboxes refuse traffic (502 "was not found")
unless created with auto-resume; pausing twice is a conflict."""

import httpx
import pytest
from e2b import Sandbox, SandboxException, SandboxQuery, SandboxState


def test_pause_connect_round_trip_keeps_files_and_processes(server, run_id):
    sbx = Sandbox.create(timeout=300, metadata={"run": run_id})
    try:
        sbx.files.write("keep.txt", "still here")
        sleeper = sbx.commands.run("sleep 300", background=True)
        assert sbx.pause() is True
        assert sbx.get_info().state == SandboxState.PAUSED
        assert not sbx.is_running()
        # Pausing again is a 409, which the SDK reports as False.
        assert Sandbox.pause(sbx.sandbox_id) is False
        with pytest.raises(SandboxException) as error:
            sbx.files.read("keep.txt")
        assert "not running" in str(error.value).lower() or "not found" in str(error.value).lower()

        resumed = Sandbox.connect(sbx.sandbox_id, timeout=300)
        assert resumed.sandbox_id == sbx.sandbox_id
        assert resumed.get_info().state == SandboxState.RUNNING
        assert resumed.files.read("keep.txt") == "still here"
        assert sleeper.pid in {p.pid for p in resumed.commands.list()}
        # Twice more, to be sure a round trip is repeatable.
        for _ in range(2):
            resumed.pause()
            resumed = Sandbox.connect(sbx.sandbox_id)
            assert resumed.files.read("keep.txt") == "still here"
        # Connecting to a running sandbox is fine too.
        assert Sandbox.connect(sbx.sandbox_id).is_running()
    finally:
        Sandbox.kill(sbx.sandbox_id)


def test_paused_sandbox_answers_502_not_found(server):
    sbx = Sandbox.create(timeout=120)
    try:
        sbx.pause()
        r = httpx.get(server.url + "/health", headers={"E2b-Sandbox-Id": sbx.sandbox_id, "X-Access-Token": server.token})
        assert r.status_code == 502
        assert "was not found" in r.json()["message"]
    finally:
        Sandbox.kill(sbx.sandbox_id)
    r = httpx.get(server.url + "/health", headers={"E2b-Sandbox-Id": sbx.sandbox_id, "X-Access-Token": server.token})
    assert r.status_code == 502


def test_auto_resume_on_traffic(server):
    sbx = Sandbox.create(timeout=120, lifecycle={"on_timeout": "pause", "auto_resume": True})
    try:
        sbx.files.write("a.txt", "auto")
        sbx.pause()
        assert Sandbox.get_info(sbx.sandbox_id).state == SandboxState.PAUSED
        assert sbx.files.read("a.txt") == "auto"
        assert Sandbox.get_info(sbx.sandbox_id).state == SandboxState.RUNNING
    finally:
        sbx.kill()


def test_paused_sandboxes_are_listed_and_killable(server, run_id):
    sbx = Sandbox.create(timeout=120, metadata={"run": run_id})
    sbx.pause()
    paused = Sandbox.list(query=SandboxQuery(metadata={"run": run_id}, state=[SandboxState.PAUSED])).next_items()
    assert [p.sandbox_id for p in paused] == [sbx.sandbox_id]
    assert Sandbox.kill(sbx.sandbox_id) is True
    assert Sandbox.list(query=SandboxQuery(metadata={"run": run_id})).next_items() == []


def test_on_timeout_pause_keeps_the_sandbox_for_connect(server, run_id):
    import time

    from e2b import SandboxState

    sbx = Sandbox.create(template="base", timeout=3, metadata={"run": run_id}, lifecycle={"on_timeout": "pause"})
    try:
        sbx.files.write("kept.txt", "still here")
        deadline = time.time() + 30
        while Sandbox.get_info(sbx.sandbox_id).state != SandboxState.PAUSED:
            assert time.time() < deadline, "the sandbox was not paused at its timeout"
            time.sleep(0.25)
        time.sleep(2)  # past the old deadline: a paused sandbox is not reaped
        assert Sandbox.get_info(sbx.sandbox_id).state == SandboxState.PAUSED
        resumed = Sandbox.connect(sbx.sandbox_id, timeout=120)
        assert resumed.files.read("kept.txt") == "still here"
        assert Sandbox.get_info(sbx.sandbox_id).state == SandboxState.RUNNING
    finally:
        Sandbox.kill(sbx.sandbox_id)
