"""Starts a real `paddock server` (the built binary, a temporary data directory, ephemeral ports) and
points E2B's SDKs at it. Every test drives the server only through the official SDKs (and plain HTTP
where the SDK hands the user a URL)."""

import glob
import os
import random
import shutil
import signal
import subprocess
import time
import uuid

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _sandbox_skip_reason():
    if os.geteuid() != 0:
        return "needs root for sandboxes (user namespaces, overlayfs, cgroups); CI runs as root"
    if shutil.which("runc") is None and shutil.which("crun") is None:
        return "needs an OCI runtime (runc or crun); run scripts/install-deps.sh"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _sandbox_skip_reason()
    if reason:
        print(f"\nE2B SDK suite skipped: {reason}")
        for item in items:
            item.add_marker(pytest.mark.skip(reason=reason))


def _binary():
    path = os.environ.get("PADDOCK_BINARY") or os.path.join(REPO, ".build", "debug", "paddock")
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is missing: run `swift build` first (or set PADDOCK_BINARY)")
    return path


def _cgroup_parent(data_dir):
    """The cgroup parent a server gives its sandboxes: `paddock-<FNV-1a of the data dir>` (ProviderLayout)."""
    h = 2166136261
    for b in data_dir.encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return "paddock-" + format(h, "x")


def _remove_cgroup_parents(data_dir):
    name = _cgroup_parent(data_dir)
    for path in glob.glob(f"/sys/fs/cgroup/{name}") + glob.glob(f"/sys/fs/cgroup/*/{name}"):
        try:
            os.rmdir(path)  # only ever removes an empty directory
        except OSError as error:
            print(f"cgroup {path} left in place: {error}")


def _mounted_under(directory):
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if line.split()[4].startswith(directory + "/")]


class Server:
    def __init__(self):
        # The name follows the Swift tests' convention, so a crashed run is swept by the next `swift test`.
        self.data_dir = f"/tmp/paddock-test-e2b-{os.getpid()}-{random.randint(0, 2**32 - 1)}"
        os.makedirs(self.data_dir, mode=0o711)
        self.log = open(os.path.join(self.data_dir, "server.log"), "w")
        self.process = subprocess.Popen(
            [_binary(), "server", "--data-dir", self.data_dir, "--listen", "127.0.0.1:0",
             "--e2b-listen", "127.0.0.1:0", "--preview-listen", "127.0.0.1:0", "--log-level", "notice"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        port_file = os.path.join(self.data_dir, "e2b.port")
        api_file = os.path.join(self.data_dir, "api.port")
        while not (os.path.exists(port_file) and os.path.exists(api_file)):
            if self.process.poll() is not None or time.time() > deadline:
                self.stop()
                pytest.fail("paddock server did not start:\n" + self.logs())
            time.sleep(0.05)
        self.port = int(open(port_file).read())
        self.api_port = int(open(api_file).read())
        self.token = open(os.path.join(self.data_dir, "admin.token")).read().strip()
        self.url = f"http://127.0.0.1:{self.port}"

    def logs(self):
        self.log.flush()
        return open(os.path.join(self.data_dir, "server.log")).read()[-4000:]

    def cli(self, *args):
        env = dict(os.environ, PADDOCK_URL=f"http://127.0.0.1:{self.api_port}", PADDOCK_TOKEN=self.token)
        return subprocess.run([_binary(), *args], env=env, capture_output=True, text=True, timeout=60)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        _remove_cgroup_parents(self.data_dir)
        leftovers = _mounted_under(self.data_dir)
        if leftovers:
            print(f"not removing {self.data_dir}: still mounted: {leftovers}")
        else:
            shutil.rmtree(self.data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def server():
    s = Server()
    os.environ["E2B_API_URL"] = s.url
    os.environ["E2B_SANDBOX_URL"] = s.url
    os.environ["E2B_API_KEY"] = s.token
    os.environ.pop("E2B_DEBUG", None)
    yield s
    from e2b import Sandbox

    # Kill whatever a failed test left, through the API, before the server stops.
    try:
        for info in Sandbox.list(limit=100).next_items():
            Sandbox.kill(info.sandbox_id)
    finally:
        s.stop()


@pytest.fixture
def run_id():
    return uuid.uuid4().hex[:12]


@pytest.fixture
def sandbox(server, run_id):
    from e2b import Sandbox

    sbx = Sandbox.create(template="base", timeout=300, metadata={"run": run_id})
    yield sbx
    try:
        sbx.kill()
    except Exception:
        pass
