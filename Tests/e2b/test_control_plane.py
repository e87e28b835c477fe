"""Control plane: create, list (filters, pagination), get_info, is_running, set_timeout, metrics, kill."""

import datetime

import httpx
import pytest
from e2b import NotFoundException, Sandbox, SandboxException, SandboxQuery, SandboxState


def test_create_with_timeout_metadata_envs(server, run_id):
    sbx = Sandbox.create(template="base", timeout=120, metadata={"run": run_id, "role": "a"}, envs={"GREETING": "hi"})
    try:
        assert sbx.sandbox_id.isalnum() and sbx.sandbox_id == sbx.sandbox_id.lower()
        info = sbx.get_info()
        assert info.sandbox_id == sbx.sandbox_id
        assert info.metadata == {"run": run_id, "role": "a"}
        assert info.state == SandboxState.RUNNING
        left = (info.end_at - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
        assert 100 < left <= 121
        assert sbx.commands.run("echo $GREETING").stdout == "hi\n"
        assert sbx.is_running()
        # An ordinary Paddock session: the CLI sees it.
        listed = server.cli("session", "list")
        assert listed.returncode == 0, listed.stderr
        assert sbx.sandbox_id in listed.stdout
    finally:
        sbx.kill()
    assert not sbx.is_running()


def test_code_interpreter_template_and_unknown_template(server):
    sbx = Sandbox.create(template="code-interpreter-v1", timeout=60)
    try:
        assert sbx.get_info().template_id == "code-interpreter-v1"
    finally:
        sbx.kill()
    with pytest.raises(SandboxException) as error:
        Sandbox.create(template="no-such-template", timeout=60)
    assert "no-such-template" in str(error.value)


def test_list_filters_by_metadata_and_state_with_pagination(server, run_id):
    boxes = [Sandbox.create(timeout=120, metadata={"run": run_id, "n": str(i)}) for i in range(3)]
    try:
        boxes[0].pause()
        query = SandboxQuery(metadata={"run": run_id})
        seen = []
        paginator = Sandbox.list(query=query, limit=2)
        pages = 0
        while paginator.has_next:
            page = paginator.next_items()
            pages += 1
            assert len(page) <= 2
            seen += page
        assert pages == 2
        assert sorted(s.sandbox_id for s in seen) == sorted(b.sandbox_id for b in boxes)

        running = Sandbox.list(query=SandboxQuery(metadata={"run": run_id}, state=[SandboxState.RUNNING])).next_items()
        assert sorted(s.sandbox_id for s in running) == sorted(b.sandbox_id for b in boxes[1:])
        paused = Sandbox.list(query=SandboxQuery(metadata={"run": run_id}, state=[SandboxState.PAUSED])).next_items()
        assert [s.sandbox_id for s in paused] == [boxes[0].sandbox_id]
        assert paused[0].state == SandboxState.PAUSED
        one = Sandbox.list(query=SandboxQuery(metadata={"run": run_id, "n": "2"})).next_items()
        assert [s.sandbox_id for s in one] == [boxes[2].sandbox_id]
        assert one[0].metadata["n"] == "2"
    finally:
        for b in boxes:
            Sandbox.kill(b.sandbox_id)


def test_set_timeout_moves_the_deadline(sandbox):
    sandbox.set_timeout(30)
    left = (sandbox.get_info().end_at - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    assert 20 < left <= 31
    sandbox.set_timeout(600)
    left = (sandbox.get_info().end_at - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    assert 590 < left <= 601


def test_timeout_expiry_kills_the_sandbox(server):
    sbx = Sandbox.create(timeout=2)
    deadline = datetime.datetime.now() + datetime.timedelta(seconds=30)
    while sbx.is_running() and datetime.datetime.now() < deadline:
        import time

        time.sleep(0.5)
    assert not sbx.is_running()
    with pytest.raises(NotFoundException):
        Sandbox.get_info(sbx.sandbox_id)


def test_metrics_from_cgroups(sandbox):
    sandbox.commands.run("head -c 20000000 /dev/zero > /tmp/blob")
    metrics = sandbox.get_metrics()
    assert len(metrics) == 1
    m = metrics[0]
    assert m.cpu_count >= 1
    assert 0 <= m.cpu_used_pct <= 100
    assert 0 < m.mem_used <= m.mem_total
    assert m.disk_total > 0


def test_static_kill_and_unknown_ids(server):
    sbx = Sandbox.create(timeout=60)
    assert Sandbox.kill(sbx.sandbox_id) is True
    assert Sandbox.kill(sbx.sandbox_id) is False
    with pytest.raises(NotFoundException):
        Sandbox.get_info("doesnotexist0")
    with pytest.raises(NotFoundException):
        Sandbox.set_timeout("doesnotexist0", 30)
    with pytest.raises(NotFoundException):
        Sandbox.connect("doesnotexist0")


def test_bad_api_key_is_refused(server):
    r = httpx.get(server.url + "/v2/sandboxes", headers={"X-API-KEY": "pdk_wrong"})
    assert r.status_code == 401
    assert r.json()["code"] == 401
    assert "not a valid Paddock token" in r.json()["message"]


def test_snapshot_restore_and_fork(server, run_id):
    sbx = Sandbox.create(timeout=120, metadata={"run": run_id})
    made = []
    try:
        sbx.files.write("state.txt", "v1")
        snap = sbx.create_snapshot()
        assert snap.snapshot_id.startswith("snap")
        listed = sbx.list_snapshots().next_items()
        assert snap.snapshot_id in [s.snapshot_id for s in listed]
        sbx.files.write("state.txt", "v2")

        restored = Sandbox.create(template=snap.snapshot_id, timeout=120)
        made.append(restored)
        assert restored.files.read("state.txt") == "v1"

        children = sbx.fork(count=2)
        assert len(children) == 2 and all(isinstance(c, Sandbox) for c in children)
        made += children
        assert [c.files.read("state.txt") for c in children] == ["v2", "v2"]
        children[0].files.write("state.txt", "child")
        assert children[1].files.read("state.txt") == "v2"
        assert sbx.files.read("state.txt") == "v2"
    finally:
        for s in [sbx, *made]:
            Sandbox.kill(s.sandbox_id)
