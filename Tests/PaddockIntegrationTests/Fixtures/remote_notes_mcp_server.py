"""The notes MCP server of notes_mcp_server.py, served over streamable HTTP on the host's loopback: a *remote* MCP
server for a session's agent, reached through the egress gateway. Writes its port to PORT_FILE once listening.

usage: remote_notes_mcp_server.py PORT_FILE
"""
import asyncio
import os
import signal
import socket
import sys

import uvicorn
from mcp.server.mcpserver import MCPServer

# Started from a thread that blocks signals: the test's SIGTERM must end this process.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})

server = MCPServer("notes")


@server.tool()
def lookup(key: str) -> str:
    """Looks up a team note by its key."""
    return f"note {key}: the deploy window is Tuesday 14:00 UTC"


async def main(port_file, cert, key):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    app = server.streamable_http_app(host="127.0.0.1")
    http = uvicorn.Server(uvicorn.Config(app, log_level="warning", ssl_certfile=cert, ssl_keyfile=key))
    # Written (atomically) once the socket listens, so a client that read it can connect.
    with open(port_file + ".tmp", "w") as f:
        f.write(str(port))
    os.rename(port_file + ".tmp", port_file)
    await http.serve(sockets=[listener])


asyncio.run(main(*sys.argv[1:4]))
