"""get_host(port): a server started inside the sandbox, reached through E2b-Sandbox-Port routing."""

import time

import httpx


def _get(server, sandbox, port, path="/"):
    return httpx.get(
        server.url + path,
        headers={"E2b-Sandbox-Id": sandbox.sandbox_id, "E2b-Sandbox-Port": str(port), "X-Access-Token": server.token},
        timeout=30)


def test_http_server_inside_the_sandbox(server, sandbox):
    sandbox.files.write("site/index.html", "<h1>from the sandbox</h1>")
    sandbox.commands.run("cd site && python3 -m http.server 8000 --bind 127.0.0.1", background=True)
    host = sandbox.get_host(8000)
    assert host.startswith("8000-" + sandbox.sandbox_id)
    deadline = time.time() + 20
    r = _get(server, sandbox, 8000)
    while r.status_code == 502 and time.time() < deadline:
        time.sleep(0.2)
        r = _get(server, sandbox, 8000)
    assert r.status_code == 200
    assert r.text == "<h1>from the sandbox</h1>"
    assert _get(server, sandbox, 8000, "/missing").status_code == 404
    closed = _get(server, sandbox, 8001)
    assert closed.status_code == 502
    assert "port is not open" in closed.json()["message"]
    # No token, no traffic.
    r = httpx.get(server.url + "/", headers={"E2b-Sandbox-Id": sandbox.sandbox_id, "E2b-Sandbox-Port": "8000"})
    assert r.status_code == 401
