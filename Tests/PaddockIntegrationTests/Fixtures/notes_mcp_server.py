"""A small stdio MCP server for the agent-context tests, built on the official `mcp` package.

Its one tool, `lookup`, answers with a fixed phrase and the key it was asked about, so a test can find the
tool's result in a run's record.
"""

from mcp.server.mcpserver import MCPServer

server = MCPServer("notes")


@server.tool()
def lookup(key: str) -> str:
    """Looks up a team note by its key."""
    return f"note {key}: the deploy window is Tuesday 14:00 UTC"


if __name__ == "__main__":
    server.run()
