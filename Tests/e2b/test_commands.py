"""Commands and PTYs: streamed output, exit codes, background commands, stdin, signals, reconnects."""

import threading
import time

import pytest
from e2b import CommandExitException, NotFoundException, PtySize, Sandbox, TimeoutException


def test_run_streams_stdout_and_stderr(sandbox):
    out, err = [], []
    result = sandbox.commands.run(
        "echo one; echo two >&2; sleep 0.2; echo three", on_stdout=out.append, on_stderr=err.append)
    assert result.exit_code == 0
    assert result.stdout == "one\nthree\n"
    assert result.stderr == "two\n"
    assert "".join(out) == "one\nthree\n"
    assert "".join(err) == "two\n"


def test_output_arrives_while_the_command_runs(sandbox):
    first = threading.Event()
    seen_at = []

    def on_stdout(line):
        seen_at.append(time.monotonic())
        first.set()

    start = time.monotonic()
    sandbox.commands.run("echo early; sleep 2; echo late", on_stdout=on_stdout)
    assert len(seen_at) == 2
    assert seen_at[0] - start < 1.5  # flushed per message, not at the end


def test_nonzero_exit_raises(sandbox):
    with pytest.raises(CommandExitException) as error:
        sandbox.commands.run("echo out; echo bad >&2; exit 3")
    assert error.value.exit_code == 3
    assert error.value.stdout == "out\n"
    assert error.value.stderr == "bad\n"


def test_env_cwd_user_and_relative_paths(sandbox):
    r = sandbox.commands.run("pwd; whoami; echo $X", envs={"X": "42"})
    assert r.stdout == "/home/user\nuser\n42\n"
    r = sandbox.commands.run("pwd", cwd="/tmp")
    assert r.stdout == "/tmp\n"
    r = sandbox.commands.run("whoami", user="root")
    assert r.stdout == "root\n"


def test_timeout_kills_the_command(sandbox):
    with pytest.raises(TimeoutException):
        sandbox.commands.run("sleep 30; touch /tmp/should-not-exist", timeout=1)
    time.sleep(0.5)
    assert not any("sleep 30" in " ".join([p.cmd, *p.args]) for p in sandbox.commands.list())


def test_background_wait_list_kill(sandbox):
    handle = sandbox.commands.run("sleep 0.5; echo done", background=True)
    assert handle.pid > 0
    assert handle.wait().stdout == "done\n"

    sleeper = sandbox.commands.run("sleep 60", background=True)
    listed = {p.pid: p for p in sandbox.commands.list()}
    assert sleeper.pid in listed
    assert listed[sleeper.pid].cmd == "/bin/bash"
    assert listed[sleeper.pid].args == ["-l", "-c", "sleep 60"]
    assert sandbox.commands.kill(sleeper.pid) is True
    with pytest.raises(CommandExitException) as error:
        sleeper.wait()
    assert error.value.exit_code != 0
    assert sleeper.pid not in {p.pid for p in sandbox.commands.list()}
    assert sandbox.commands.kill(999999) is False


def test_send_stdin_and_close(sandbox):
    handle = sandbox.commands.run("read a; read b; echo got:$a:$b; cat", background=True, stdin=True)
    sandbox.commands.send_stdin(handle.pid, "x\n")
    sandbox.commands.send_stdin(handle.pid, b"y\nrest")
    sandbox.commands.close_stdin(handle.pid)
    result = handle.wait()
    assert result.stdout == "got:x:y\nrest"


def test_handle_kill_and_connect_by_pid(sandbox):
    handle = sandbox.commands.run("for i in $(seq 1 100); do echo tick $i; sleep 0.2; done", background=True)
    time.sleep(0.5)
    again = sandbox.commands.connect(handle.pid)
    lines = []
    for stdout, _, _ in again:
        if stdout:
            lines.append(stdout)
        if len("".join(lines).splitlines()) >= 2:
            break
    assert "tick" in "".join(lines)
    assert again.kill() is True
    with pytest.raises(NotFoundException):
        sandbox.commands.connect(424242)


def test_pty_create_send_resize_kill(sandbox):
    pty = sandbox.pty.create(PtySize(rows=24, cols=80))
    sandbox.pty.resize(pty.pid, PtySize(rows=30, cols=100))
    sandbox.pty.send_stdin(pty.pid, b"echo size=$(stty size)\n")
    sandbox.pty.stream_input(pty.pid, [b"echo streamed-", b"input\n", b"exit 0\n"])
    output = bytearray()
    result = pty.wait(on_pty=output.extend)
    assert result.exit_code == 0
    text = output.decode(errors="replace")
    assert "size=30 100" in text
    assert "streamed-input" in text

    other = sandbox.pty.create(PtySize(rows=10, cols=40))
    assert sandbox.pty.kill(other.pid) is True
    with pytest.raises(CommandExitException):
        other.wait()


def test_stream_input_to_a_command(sandbox):
    handle = sandbox.commands.run("head -c 12", background=True, stdin=True)
    sandbox.commands.stream_input(handle.pid, ["hello ", b"world!"])
    assert handle.wait().stdout == "hello world!"


def test_sparse_output_survives_keepalive_interval(sandbox):
    # Longer than the server's 10 s keepalive interval with no output at all.
    r = sandbox.commands.run("sleep 12; echo finally", timeout=60)
    assert r.stdout == "finally\n"
