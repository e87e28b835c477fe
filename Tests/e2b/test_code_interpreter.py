"""e2b_code_interpreter: stateful Python with the NDJSON result stream."""

import pytest
from e2b_code_interpreter import AsyncSandbox as AsyncCodeSandbox
from e2b_code_interpreter import Sandbox as CodeSandbox


def test_run_code_keeps_state_and_reports_results_logs_errors(server):
    sbx = CodeSandbox.create(timeout=300)
    try:
        first = sbx.run_code("x = 21\nprint('hello')\nx * 2")
        assert first.logs.stdout == ["hello", "\n"] or "".join(first.logs.stdout) == "hello\n"
        assert first.text == "42"
        assert first.error is None
        second = sbx.run_code("import sys\nprint('warn', file=sys.stderr)\nx + 1")
        assert second.text == "22"
        assert "warn" in "".join(second.logs.stderr)
        failed = sbx.run_code("1/0")
        assert failed.error.name == "ZeroDivisionError"
        assert "division by zero" in failed.error.value
        streamed = []
        sbx.run_code("for i in range(3): print(i)", on_stdout=lambda m: streamed.append(m.line))
        assert "".join(streamed).split() == ["0", "1", "2"]
        env = sbx.run_code("import os\nos.environ['ONLY_HERE']", envs={"ONLY_HERE": "yes"})
        assert env.text == "'yes'"

        ctx = sbx.create_code_context()
        assert sbx.run_code("y = 5", context=ctx).error is None
        assert sbx.run_code("y", context=ctx).text == "5"
        assert sbx.run_code("y").error.name == "NameError"  # contexts do not share state
        assert ctx.id in {c.id for c in sbx.list_code_contexts()}
        sbx.restart_code_context(ctx)
        assert sbx.run_code("y", context=ctx).error.name == "NameError"
        sbx.remove_code_context(ctx)
    finally:
        sbx.kill()


@pytest.mark.asyncio
async def test_async_run_code(server):
    sbx = await AsyncCodeSandbox.create(timeout=300)
    try:
        r = await sbx.run_code("sum(range(10))")
        assert r.text == "45"
    finally:
        await sbx.kill()
