"""Drives Paddock's /mcp with the official MCP Python SDK client: prints one JSON line of what it saw."""
import asyncio, json, sys

import httpx2
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


def text(result):
    return "".join(getattr(c, "text", "") for c in result.content)


async def main(base, token):
    seen = {}
    async with httpx2.AsyncClient() as plain:
        seen["unauthenticated"] = (await plain.post(base + "/mcp", json={})).status_code
        meta = await plain.get(base + "/.well-known/oauth-protected-resource")
        seen["metadata"] = meta.json()
    client = create_mcp_http_client(headers={"Authorization": "Bearer " + token})
    async with client, streamable_http_client(base + "/mcp", http_client=client) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            seen["server"] = init.server_info.name
            seen["tools"] = sorted(t.name for t in (await session.list_tools()).tools)
            created = text(await session.call_tool("create_session", {"ttl_seconds": 600}))
            sid = created.split()[0]
            seen["created"] = created
            progress = []

            async def on_progress(p, total, message):
                progress.append(message or "")

            ran = await session.call_tool(
                "exec", {"session": sid, "command": "echo out; echo err >&2; exit 3"}, progress_callback=on_progress)
            seen["exec"] = text(ran)
            seen["exec_error"] = bool(ran.is_error)
            seen["progress"] = "".join(progress)
            seen["write"] = text(await session.call_tool(
                "write_file", {"session": sid, "path": "/workspace/notes/a.txt", "content": "hello\n"}))
            seen["read"] = text(await session.call_tool("read_file", {"session": sid, "path": "/workspace/notes/a.txt"}))
            seen["list"] = text(await session.call_tool("list_files", {"session": sid, "path": "/workspace", "depth": 2}))
            refused = await session.call_tool("exec", {"session": "s_nope", "command": "true"})
            seen["refused"] = [bool(refused.is_error), text(refused)]
            resources = (await session.list_resources()).resources
            seen["resources"] = [str(r.uri) for r in resources]
            audit = await session.read_resource(f"paddock://sessions/{sid}/audit")
            seen["audit"] = audit.contents[0].text
            seen["session"] = sid
            if len(sys.argv) > 3 and sys.argv[3] == "destroy":
                seen["destroyed"] = text(await session.call_tool("destroy_session", {"session": sid}))
    print(json.dumps(seen))


asyncio.run(main(sys.argv[1], sys.argv[2]))
