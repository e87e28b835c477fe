"""AsyncSandbox: the same calls through the asyncio SDK."""

import asyncio

import pytest
from e2b import AsyncSandbox, CommandExitException, FilesystemEventType, NotFoundException, SandboxQuery


@pytest.mark.asyncio
async def test_async_sandbox_end_to_end(server, run_id):
    sbx = await AsyncSandbox.create(timeout=300, metadata={"run": run_id}, envs={"A": "1"})
    try:
        assert await sbx.is_running()
        info = await sbx.get_info()
        assert info.metadata == {"run": run_id}
        listed = await AsyncSandbox.list(query=SandboxQuery(metadata={"run": run_id})).next_items()
        assert [s.sandbox_id for s in listed] == [sbx.sandbox_id]

        out = []
        r = await sbx.commands.run("echo $A; echo e >&2", on_stdout=out.append)
        assert r.stdout == "1\n" and r.stderr == "e\n" and "".join(out) == "1\n"
        with pytest.raises(CommandExitException):
            await sbx.commands.run("exit 7")
        bg = await sbx.commands.run("read x; echo in:$x", background=True, stdin=True)
        await sbx.commands.send_stdin(bg.pid, "v\n")
        assert (await bg.wait()).stdout == "in:v\n"
        sleeper = await sbx.commands.run("sleep 60", background=True)
        assert sleeper.pid in {p.pid for p in await sbx.commands.list()}
        assert await sbx.commands.kill(sleeper.pid)

        await sbx.files.write("dir/x.txt", "async")
        assert await sbx.files.read("dir/x.txt") == "async"
        assert await sbx.files.exists("dir/x.txt")
        assert [e.name for e in await sbx.files.list("dir")] == ["x.txt"]
        assert await sbx.files.make_dir("dir/sub")
        await sbx.files.rename("dir/x.txt", "dir/sub/y.txt")
        assert (await sbx.files.get_info("dir/sub/y.txt")).size == 5
        with pytest.raises(NotFoundException):
            await sbx.files.read("dir/x.txt")

        events = []
        done = asyncio.Event()

        def on_event(e):
            events.append(e)
            if e.type == FilesystemEventType.CREATE:
                done.set()

        watch = await sbx.files.watch_dir("dir", on_event=on_event)
        await asyncio.sleep(0.5)
        await sbx.files.write("dir/watched.txt", "w")
        await asyncio.wait_for(done.wait(), timeout=10)
        await watch.stop()
        assert any(e.name == "watched.txt" for e in events)
        await sbx.files.remove("dir")

        metrics = await sbx.get_metrics()
        assert metrics and metrics[0].mem_used > 0
        await sbx.set_timeout(200)

        await sbx.pause()
        resumed = await AsyncSandbox.connect(sbx.sandbox_id)
        assert await resumed.commands.run("echo back") is not None
    finally:
        await AsyncSandbox.kill(sbx.sandbox_id)
    assert not await sbx.is_running()
