"""Gaps found by running E2B's own SDK suite (packages/python-sdk/tests of e2b-dev/E2B) against Paddock: one test
per bug, each in the words of the E2B behaviour it restores (scripts/e2b-upstream-suite.py runs that suite)."""

import datetime
import json
import os
import re
import time

import httpx
import pytest
from e2b import ALL_TRAFFIC, CommandExitException, FileType, Sandbox, TimeoutException


def test_e2b_shaped_key_is_accepted(server, monkeypatch):
    """E2B's SDKs refuse keys that are not `e2b_<hex>`: `tokens create --e2b` prints one, and the server takes it."""
    out = server.cli("tokens", "create", "--name", "sdk", "--e2b")
    assert out.returncode == 0, out.stderr
    key = out.stdout.strip()
    assert re.fullmatch(r"e2b_[0-9a-f]+", key), key
    monkeypatch.setenv("E2B_API_KEY", key)
    monkeypatch.delenv("E2B_VALIDATE_API_KEY", raising=False)
    sbx = Sandbox.create(template="base", timeout=120)
    try:
        assert sbx.commands.run("echo ok").stdout == "ok\n"
        assert sbx.sandbox_id in [s.sandbox_id for s in Sandbox.list().next_items()]
    finally:
        sbx.kill()


def test_connect_never_shortens_the_deadline(sandbox):
    before = sandbox.get_info().end_at
    Sandbox.connect(sandbox.sandbox_id, timeout=10)
    assert sandbox.get_info().end_at >= before


def test_set_timeout_zero_ends_the_sandbox(sandbox):
    sandbox.set_timeout(0)
    deadline = time.time() + 60
    while sandbox.is_running() and time.time() < deadline:
        time.sleep(0.5)
    assert not sandbox.is_running()


def test_read_proc_file(sandbox):
    assert sandbox.files.read("/proc/self/status").startswith("Name:")
    assert len(sandbox.files.read("/proc/sys/kernel/random/boot_id").strip()) == 36


def test_remove_missing_path_is_a_no_op(sandbox):
    sandbox.files.remove("never/was/here.txt")


def test_gzip_upload(sandbox):
    info = sandbox.files.write("zipped.txt", "through gzip\n", gzip=True)
    assert info.path == "/home/user/zipped.txt"
    assert sandbox.files.read("zipped.txt") == "through gzip\n"


def test_symlink_info_is_its_target(sandbox):
    sandbox.files.write("links/target.txt", "t")
    sandbox.commands.run("ln -s target.txt link.txt", cwd="/home/user/links")
    info = sandbox.files.get_info("links/link.txt")
    # envd reports the target's type with `isSymlink` set; this SDK shows that as SYMLINK (E2B's repository
    # SDK, which reads `type` alone, as FILE).
    assert info.type == FileType.SYMLINK
    assert info.symlink_target == "/home/user/links/target.txt"


def test_list_started_after_and_metrics_window(sandbox, run_id):
    from e2b import SandboxQuery

    started = sandbox.get_info().started_at
    same = Sandbox.list(query=SandboxQuery(metadata={"run": run_id}, started_after=started)).next_items()
    assert [s.sandbox_id for s in same] == [sandbox.sandbox_id]
    later = started + datetime.timedelta(seconds=1)
    assert Sandbox.list(query=SandboxQuery(metadata={"run": run_id}, started_after=later)).next_items() == []
    long_ago = started - datetime.timedelta(hours=1)
    assert sandbox.get_metrics(start=long_ago, end=long_ago + datetime.timedelta(minutes=30)) == []


def test_snapshots_by_name_and_deleted(sandbox, run_id):
    snapshot = sandbox.create_snapshot(name=f"snap-{run_id}")
    found = Sandbox.list_snapshots(name=f"snap-{run_id}").next_items()
    assert [s.snapshot_id for s in found] == [snapshot.snapshot_id]
    assert Sandbox.list_snapshots(name=f"snap-{run_id}-other").next_items() == []
    assert Sandbox.delete_snapshot(snapshot.snapshot_id) is True
    assert Sandbox.list_snapshots(name=f"snap-{run_id}").next_items() == []


def test_template_exists_for_base(server):
    from e2b import Template

    assert Template.exists("base")
    assert not Template.exists("no-such-template-here")


def _contexts(server, sandbox_id, headers):
    return httpx.get(f"{server.url}/contexts", headers={
        "E2b-Sandbox-Id": sandbox_id, "E2b-Sandbox-Port": "49999", **headers}, timeout=60)


def test_contexts_of_a_secure_sandbox_need_its_traffic_token(server, sandbox):
    assert sandbox.traffic_access_token
    refused = _contexts(server, sandbox.sandbox_id, {})
    assert refused.status_code == 401, refused.text
    assert _contexts(server, sandbox.sandbox_id, {"E2B-Traffic-Access-Token": "e2b_0000"}).status_code == 401
    allowed = _contexts(server, sandbox.sandbox_id, {"E2B-Traffic-Access-Token": sandbox.traffic_access_token})
    assert allowed.status_code == 200, allowed.text


def test_contexts_of_an_insecure_sandbox_stay_open(server, run_id):
    """Older SDKs could ask for `secure: false` (the current one always secures): no traffic token, open contexts."""
    created = httpx.post(f"{server.url}/sandboxes", headers={"X-API-KEY": server.token}, timeout=120, json={
        "templateID": "base", "timeout": 120, "secure": False, "metadata": {"run": run_id}})
    assert created.status_code == 201, created.text
    sandbox_id = created.json()["sandboxID"]
    try:
        assert not created.json().get("trafficAccessToken")
        assert _contexts(server, sandbox_id, {}).status_code == 200
    finally:
        Sandbox.kill(sandbox_id)


def test_disconnect_leaves_a_busy_command_running(sandbox):
    """A command printing at the moment its client disconnects keeps running, and can be connected to again."""
    handles = [sandbox.commands.run("while true; do echo tick; sleep 0.05; done", background=True) for _ in range(3)]
    time.sleep(1)
    for handle in handles:
        handle.disconnect()
    time.sleep(2)
    running = {p.pid for p in sandbox.commands.list()}
    for handle in handles:
        assert handle.pid in running
        again = sandbox.commands.connect(handle.pid)
        again.kill()


def _audit(server, sandbox_id, kind):
    out = server.cli("audit", "show", sandbox_id, "--json")
    assert out.returncode == 0, out.stderr
    return [e for e in json.loads(out.stdout) if e["kind"] == kind]


def test_update_network_replaces_the_session_layer(server, sandbox):
    """`update_network` changes the live sandbox's egress rules through the services: audited with the caller, and
    "deny all but these" (E2B's ALL_TRAFFIC in deny_out) becomes a session layer that denies what it does not list."""
    sandbox.update_network({"allow_out": ["pypi.org"], "deny_out": [ALL_TRAFFIC]})
    events = _audit(server, sandbox.sandbox_id, "session.network")
    assert len(events) == 1
    assert events[0]["fields"]["default"] == "deny"
    assert any("pypi.org" in rule for rule in events[0]["fields"]["rules"])
    # Replaced whole, as E2B does: the next update drops pypi.org.
    Sandbox.update_network(sandbox.sandbox_id, {"allow_out": ["example.com"]})
    last = _audit(server, sandbox.sandbox_id, "session.network")[-1]
    assert not any("pypi.org" in rule for rule in last["fields"]["rules"])
    assert "default" not in last["fields"]
    # E2B's hosted egress proxy is refused rather than silently ignored.
    with pytest.raises(Exception, match="egress_proxy"):
        sandbox.update_network({"egress_proxy": {"address": "127.0.0.1:1080"}})


def test_base_template_has_passwordless_sudo_and_python(server, sandbox):
    """E2B's base template has `python` and a passwordless `sudo`. Paddock's sudo runs the command as the sandbox's
    own root (its user namespace's), with no_new_privs still set, stdin, output and exit status passed through."""
    assert sandbox.commands.run("sudo id -u").stdout == "0\n"
    assert sandbox.commands.run("echo piped | sudo cat").stdout == "piped\n"
    assert "NoNewPrivs:\t1" in sandbox.commands.run("sudo cat /proc/self/status").stdout
    # sudo resets the environment unless asked to keep it (-E), as sudo does.
    assert sandbox.commands.run("sudo sh -c 'echo [$FOO]'", envs={"FOO": "x"}).stdout == "[]\n"
    assert sandbox.commands.run("sudo -E sh -c 'echo [$FOO]'", envs={"FOO": "x"}).stdout == "[x]\n"
    with pytest.raises(CommandExitException) as failed:
        sandbox.commands.run("sudo sh -c 'exit 3'")
    assert failed.value.exit_code == 3
    sandbox.commands.run("sudo touch by-sudo")
    assert sandbox.commands.run("stat -c %u by-sudo").stdout == "0\n"
    assert sandbox.commands.run("python -c 'print(6 * 7)'").stdout == "42\n"
    assert len(_audit(server, sandbox.sandbox_id, "session.sudo")) == 1


def test_sudo_is_only_for_e2b_base_sandboxes(server):
    """A Paddock session that did not come through E2B's base template has no sudo socket: `sudo` says so."""
    out = server.cli("run", "--", "bash", "-lc", "sudo id -u")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "does not allow sudo" in out.stderr


def test_watch_reports_what_inotify_sees(sandbox):
    """Watchers are inotify inside the sandbox, not a polled listing: a new file is created, its mode set and
    written (three events, as envd reports), a replaced file is written, and moves and removals are said."""
    sandbox.files.make_dir("w/sub")
    handle = sandbox.files.watch_dir("w", recursive=True)
    sandbox.files.write("w/sub/a.txt", "x")
    assert [(e.type.name, e.name) for e in handle.get_new_events()] == [
        ("CREATE", "sub/a.txt"), ("CHMOD", "sub/a.txt"), ("WRITE", "sub/a.txt")]
    sandbox.files.write("w/sub/a.txt", "replaced")
    assert [(e.type.name, e.name) for e in handle.get_new_events()] == [("WRITE", "sub/a.txt")]
    sandbox.commands.run("mv w/sub/a.txt w/b.txt && rm w/b.txt")
    assert [(e.type.name, e.name) for e in handle.get_new_events()] == [
        ("RENAME", "sub/a.txt"), ("CREATE", "b.txt"), ("REMOVE", "b.txt")]
    handle.stop()


def test_a_command_of_a_killed_sandbox_says_it_was_killed(sandbox):
    """The SDK matches on its own words: a command's stream that drops with its sandbox gone is "killed"."""
    cmd = sandbox.commands.run("sleep 60", background=True)
    sandbox.kill()
    with pytest.raises(TimeoutException, match="sandbox was killed or reached its end of life"):
        cmd.wait()


def test_watcher_events_carry_their_entry(sandbox):
    """`include_entry=True`: an event whose path still exists carries its info, in the polling API too."""
    sandbox.files.make_dir("we")
    handle = sandbox.files.watch_dir("we", include_entry=True)
    sandbox.files.write("we/f.txt", "x")
    events = handle.get_new_events()
    assert [e.entry.path for e in events if e.entry] == ["/home/user/we/f.txt"] * 3
    handle.stop()
