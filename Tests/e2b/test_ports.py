"""get_host(port): a server started inside the sandbox, reached through E2b-Sandbox-Port routing."""

import os
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


def test_get_host_names_a_preview_host_the_preview_listener_serves(server, sandbox):
    """get_host(port) is the same URL previews use: `P-<id>.<preview domain>:<preview port>`."""
    sandbox.files.write("site/index.html", "<h1>previewed</h1>")
    sandbox.commands.run("cd site && python3 -m http.server 8002 --bind 127.0.0.1", background=True)
    preview_port = int(open(os.path.join(server.data_dir, "preview.port")).read())
    host = sandbox.get_host(8002)
    assert host == f"8002-{sandbox.sandbox_id}.preview.localhost:{preview_port}"
    url = f"http://127.0.0.1:{preview_port}/index.html"
    headers = {"Host": host, "Authorization": f"Bearer {server.token}"}
    deadline = time.time() + 20
    r = httpx.get(url, headers=headers, timeout=30)
    while r.status_code == 502 and time.time() < deadline:
        time.sleep(0.2)
        r = httpx.get(url, headers=headers, timeout=30)
    assert r.status_code == 200
    assert r.text == "<h1>previewed</h1>"
    # Private: no token, no page.
    assert httpx.get(url, headers={"Host": host}, timeout=30).status_code == 401
