"""Template builds through E2B's SDK (`Template()…`, `Template.build`, `build_in_background`, status and logs):
each is a Paddock template build, and the template it makes is an ordinary Paddock template."""

import os
import time

import httpx
import pytest
from e2b import Sandbox, Template, wait_for_timeout
from e2b.exceptions import BuildException


@pytest.fixture
def template_name(server, run_id):
    name = f"sdk-{run_id}"
    yield name
    # Whatever the test left: the template goes the way the SDK deletes one.
    httpx.delete(f"{server.url}/templates/{name}", headers={"X-API-KEY": server.token}, timeout=60)


@pytest.fixture
def context_dir(tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "test.txt").write_text("This is a test file.")
    os.symlink("test.txt", folder / "symlink.txt")
    return tmp_path


def _sandbox_of(name):
    return Sandbox.create(template=name, timeout=120)


def test_build_copy_run_workdir_then_start_a_sandbox_from_it(server, template_name, context_dir):
    """E2B's test_build_template, then what a user does next: a sandbox of the template has its files."""
    logs = []
    template = (
        Template(file_context_path=str(context_dir))
        .from_base_image()
        .copy("folder/*", "folder", force_upload=True)
        .run_cmd("cat folder/test.txt")
        .set_envs({"GREETING": "hello from env"})
        .run_cmd('echo "$GREETING" > greeting && whoami > who')
        .run_cmd("whoami > /etc/built-by", user="root")
        .set_workdir("/app")
        .run_cmd("touch made-in-app")
        .set_start_cmd("echo 'Hello, world!'", wait_for_timeout(10_000))
    )
    info = Template.build(template, template_name, on_build_logs=logs.append)
    assert info.template_id == template_name
    messages = [entry.message for entry in logs]
    assert "This is a test file." in messages, messages
    assert any("start command is not kept" in m for m in messages), messages
    assert Template.exists(template_name)

    sbx = _sandbox_of(template_name)
    try:
        run = sbx.commands.run
        assert run("cat /home/user/folder/test.txt").stdout == "This is a test file."
        assert run("readlink /home/user/folder/symlink.txt").stdout.strip() == "test.txt"
        assert run("cat /home/user/greeting /home/user/who /etc/built-by").stdout == "hello from env\nuser\nroot\n"
        assert run("test -f /app/made-in-app && echo yes").stdout == "yes\n"
    finally:
        sbx.kill()

    # An ordinary Paddock template, built with the caller as actor.
    listed = server.cli("template", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert template_name in listed.stdout


def test_build_from_the_base_template_and_delete_it(server, template_name):
    """E2B's test_build_template_from_base_template; the template is deleted through the API the SDK uses."""
    Template.build(Template().from_template("base").run_cmd("true"), template_name)
    assert Template.exists(template_name)
    deleted = httpx.delete(f"{server.url}/templates/{template_name}", headers={"X-API-KEY": server.token}, timeout=60)
    assert deleted.status_code == 204, deleted.text
    assert not Template.exists(template_name)
    with pytest.raises(Exception, match="does not exist"):
        Sandbox.create(template=template_name, timeout=60)


def test_a_template_built_from_another_has_both_steps(template_name):
    parent = f"{template_name}-parent"
    try:
        Template.build(Template().from_template("base").run_cmd("echo one > /etc/one", user="root"), parent)
        Template.build(Template().from_template(parent).run_cmd("cat /etc/one > two"), template_name)
        sbx = _sandbox_of(template_name)
        try:
            assert sbx.commands.run("cat /home/user/two").stdout == "one\n"
        finally:
            sbx.kill()
    finally:
        httpx.delete(f"{os.environ['E2B_API_URL']}/templates/{parent}",
                     headers={"X-API-KEY": os.environ["E2B_API_KEY"]}, timeout=60)


def test_a_registry_image_is_a_build_error_saying_why(template_name):
    with pytest.raises(BuildException, match="pulls no images"):
        Template.build(Template().from_image("ubuntu:22.04").run_cmd("ls -l"), template_name)
    assert not Template.exists(template_name)


def test_a_failed_step_names_the_instruction_and_its_output(template_name):
    template = Template().from_template("base").run_cmd("true").run_cmd("echo about-to-fail; exit 3")
    with pytest.raises(BuildException) as failure:
        Template.build(template, template_name)
    message = str(failure.value)
    assert "RUN echo about-to-fail; exit 3 failed (exit 3)" in message, message
    assert "about-to-fail" in message
    assert not Template.exists(template_name)


def test_an_unknown_user_fails_the_step(template_name):
    with pytest.raises(BuildException, match="invalid username: 'root123'"):
        Template.build(Template().from_template("base").run_cmd("whoami", user="root123"), template_name)


def test_build_in_background_and_follow_its_status(template_name):
    info = Template.build_in_background(Template().from_template("base").run_cmd("echo in-background"), template_name)
    deadline = time.time() + 300
    offset = 0
    messages = []
    while True:
        status = Template.get_build_status(info, logs_offset=offset)
        offset += len(status.log_entries)
        messages += [entry.message for entry in status.log_entries]
        if status.status.value not in ("waiting", "building") or time.time() > deadline:
            break
        time.sleep(0.2)
    assert status.status.value == "ready", (status.reason, messages)
    assert "in-background" in messages
    assert Template.exists(template_name)


def test_building_is_for_admins(server, template_name):
    """A team member's key may use templates but not build them (as `paddock template build`)."""
    team = f"t{template_name[-8:]}"
    for args in (("teams", "add", team), ("users", "add", f"m{team}", "--role", "member", "--team", team)):
        out = server.cli(*args)
        assert out.returncode == 0, out.stderr
    token = server.cli("tokens", "create", "--user", f"m{team}")
    assert token.returncode == 0, token.stderr
    key = token.stdout.strip()
    with pytest.raises(Exception, match="(?i)admin"):
        Template.build(Template().from_template("base").run_cmd("true"), template_name, api_key=key)
    assert not Template.exists(template_name)


def test_tags_name_the_templates_version(template_name):
    """E2B's tag calls: a Paddock template keeps one version, which its tags name (and `name:tag` starts it)."""
    info = Template.build(Template().from_template("base").run_cmd("true"), f"{template_name}:v1")
    assert info.tags == ["v1"]
    assigned = Template.assign_tags(f"{template_name}:v1", ["production", "latest"])
    assert sorted(assigned.tags) == ["latest", "production"]
    assert sorted(t.tag for t in Template.get_tags(template_name)) == ["latest", "production", "v1"]
    with pytest.raises(Exception):
        Template.assign_tags(f"{template_name}:v1", ":invalid-tag")
    Template.remove_tags(template_name, "latest")
    assert sorted(t.tag for t in Template.get_tags(template_name)) == ["production", "v1"]
    sbx = Sandbox.create(template=f"{template_name}:production", timeout=60)
    sbx.kill()
    with pytest.raises(Exception, match="does not exist"):
        Sandbox.create(template=f"{template_name}:latest", timeout=60)
