"""Paddock semantics through the E2B API: `envs` naming a vault secret get its placeholder, never a value;
sandboxes belong to the team of the token that created them, and other teams cannot see or use them."""

import os
import subprocess
import uuid

import pytest
from e2b import NotFoundException, Sandbox


def _cli(server, *args, stdin=None):
    env = dict(os.environ, PADDOCK_URL=f"http://127.0.0.1:{server.api_port}", PADDOCK_TOKEN=server.token)
    r = subprocess.run([server.process.args[0], *args], env=env,
                       input=stdin, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"paddock {' '.join(args)}: {r.stderr}"
    return r.stdout.strip()


def test_envs_naming_a_vault_secret_get_its_placeholder(server, run_id):
    value = "sk-vault-" + uuid.uuid4().hex
    _cli(server, "secrets", "set", "E2B_TEST_KEY", "--hosts", "api.example.com", stdin=value + "\n")
    sent = "client-sent-" + uuid.uuid4().hex
    sbx = Sandbox.create(template="base", timeout=120, metadata={"run": run_id},
                         envs={"E2B_TEST_KEY": sent, "PLAIN": "kept"})
    try:
        out = sbx.commands.run("echo $E2B_TEST_KEY; echo $PLAIN; cat /proc/1/environ | tr '\\0' '\\n'",
                               user="root").stdout
        first = out.splitlines()[0]
        assert first.startswith("PADDOCK-PLACEHOLDER-"), out
        assert out.splitlines()[1] == "kept"
        assert value not in out and sent not in out
        detail = _cli(server, "session", "get", sbx.sandbox_id, "--json")
        assert "E2B_TEST_KEY" in detail and value not in detail and sent not in detail
    finally:
        sbx.kill()


def test_sandboxes_belong_to_the_creating_tokens_team(server, run_id):
    suffix = uuid.uuid4().hex[:6]
    tokens = {}
    for team in ("red", "blue"):
        _cli(server, "teams", "add", f"{team}-{suffix}")
        _cli(server, "users", "add", f"{team}-user-{suffix}", "--role", "member", "--team", f"{team}-{suffix}")
        tokens[team] = _cli(server, "tokens", "create", "--user", f"{team}-user-{suffix}")
    red = Sandbox.create(template="base", timeout=120, metadata={"run": run_id}, api_key=tokens["red"])
    try:
        assert red.commands.run("echo red").stdout == "red\n"
        listed_red = [s.sandbox_id for s in Sandbox.list(api_key=tokens["red"]).next_items()]
        listed_blue = [s.sandbox_id for s in Sandbox.list(api_key=tokens["blue"]).next_items()]
        assert red.sandbox_id in listed_red
        assert red.sandbox_id not in listed_blue
        with pytest.raises(NotFoundException):
            Sandbox.get_info(red.sandbox_id, api_key=tokens["blue"])
        assert Sandbox.kill(red.sandbox_id, api_key=tokens["blue"]) is False
        with pytest.raises(NotFoundException):
            Sandbox.connect(red.sandbox_id, api_key=tokens["blue"])
        assert red.is_running()
        team = _cli(server, "session", "get", red.sandbox_id, "--json")
        assert f"red-{suffix}" in team
    finally:
        red.kill()
