#!/usr/bin/env python3
"""Runs E2B's own Python SDK test suite (packages/python-sdk/tests of e2b-dev/E2B) against a local
`paddock server` and prints passed / failed / skipped per test directory.

It needs the network to get E2B's code, so it is a manual tool, never part of `make test`:

    scripts/e2b-upstream-suite.py [--src DIR] [--binary PATH] [DIR_OR_TEST ...]

--src is a checkout of e2b-dev/E2B (cloned into /tmp/e2b-upstream when missing). The SDK is built from that
checkout into its own virtualenv (<src>/.paddock-venv), so the SDK and its tests always match. Nothing of
E2B's code is copied into this repository. Tests that need the internet, E2B's hosted services or templates
Paddock does not have are deselected (SET_ASIDE below says why, test by test)."""

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Directories of E2B's suite that talk to a sandbox server (the rest are unit tests of the SDK itself).
DEFAULT_DIRS = ["sync/api_sync", "sync/sandbox_sync", "async/api_async", "async/sandbox_async",
                "sync/template_sync", "async/template_async"]

# node-id substrings set aside, with the reason (reported, never silently dropped).
SET_ASIDE = {
    "test_internet_access": "reaches the public internet from the sandbox",
    "test_network.py": "reaches the public internet (allow/deny lists against public hosts)",
    "httpbin": "needs E2B's `httpbin` template (a public echo server sidecar)",
    "test_egress_proxy": "needs E2B's egress proxy",
    "volume": "E2B volumes are not offered by Paddock",
    "secret": "E2B's hosted secrets API (Paddock has its own vault, `paddock secrets`)",
    # Template builds from a registry image: this server pulls no images (they build from Paddock's templates).
    "test_build_template_with_symlinks": "builds from ubuntu:22.04, pulled from a registry",
    "test_build_template_with_resolve_symlinks": "builds from ubuntu:22.04, pulled from a registry",
    "test_build_template_with_skip_cache": "builds from ubuntu:22.04, pulled from a registry",
    "test_make_symlink.py": "builds from ubuntu:22.04, pulled from a registry",
    "test_run_cmd.py": "builds from ubuntu:22.04, pulled from a registry",
    "test_background_build.py": "builds from ubuntu:22.04, pulled from a registry",
}


def sh(*args, **kw):
    print("+", " ".join(args), flush=True)
    subprocess.run(args, check=True, **kw)


def prepare(src):
    sdk = os.path.join(src, "packages", "python-sdk")
    if not os.path.isdir(sdk):
        sh("git", "clone", "--depth", "1", "https://github.com/e2b-dev/E2B", src)
    venv = os.path.join(src, ".paddock-venv")
    python = os.path.join(venv, "bin", "python")
    if not os.path.exists(python):
        sh(sys.executable, "-m", "venv", venv)
        sh(python, "-m", "pip", "install", "--quiet", sdk, "pytest>=9,<10", "pytest-asyncio>=1.3,<2",
           "pytest-timeout>=2.4,<3", "python-dotenv>=1,<2", "pytest-dotenv>=0.5.2,<0.6")
    return sdk, python


class Server:
    def __init__(self, binary):
        self.data_dir = tempfile.mkdtemp(prefix="paddock-test-e2bupstream-", dir="/tmp")
        os.chmod(self.data_dir, 0o711)
        self.log = open(os.path.join(self.data_dir, "server.log"), "w")
        self.process = subprocess.Popen(
            [binary, "server", "--data-dir", self.data_dir, "--listen", "127.0.0.1:0", "--e2b-listen",
             "127.0.0.1:0", "--preview-listen", "127.0.0.1:0", "--log-level", "notice"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        files = [os.path.join(self.data_dir, f) for f in ("e2b.port", "api.port", "admin.token")]
        while not all(os.path.exists(f) for f in files):
            if self.process.poll() is not None or time.time() > deadline:
                self.stop()
                sys.exit("paddock server did not start; see its log above")
            time.sleep(0.1)
        self.port = int(open(files[0]).read())
        self.api_port = int(open(files[1]).read())
        self.admin = open(files[2]).read().strip()
        # A key the SDK's own shape check accepts, minted the way a user would.
        env = dict(os.environ, PADDOCK_URL=f"http://127.0.0.1:{self.api_port}", PADDOCK_TOKEN=self.admin)
        out = subprocess.run([binary, "tokens", "create", "--name", "e2b-suite", "--e2b"], env=env, capture_output=True, text=True)
        found = re.search(r"\be2b_[0-9a-f]+\b", out.stdout)
        self.key = found.group(0) if found else self.admin
        if not found:
            print("note: `paddock tokens create` printed no e2b_ key; using the admin token", flush=True)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        print(f"server data dir (log in server.log): {self.data_dir}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--src", default="/tmp/e2b-upstream")
    parser.add_argument("--binary", default=os.path.join(REPO, ".build", "debug", "paddock"))
    parser.add_argument("--no-validate-key", action="store_true",
                        help="set E2B_VALIDATE_API_KEY=false (for servers that mint no e2b_ keys)")
    parser.add_argument("paths", nargs="*", default=DEFAULT_DIRS)
    parser.add_argument("-k", dest="keyword")
    args = parser.parse_args()
    sdk, python = prepare(args.src)
    server = Server(args.binary)
    env = dict(os.environ, E2B_API_URL=f"http://127.0.0.1:{server.port}",
               E2B_SANDBOX_URL=f"http://127.0.0.1:{server.port}", E2B_API_KEY=server.key)
    env.pop("E2B_DEBUG", None)
    env.pop("E2B_DOMAIN", None)
    if args.no_validate_key:
        env["E2B_VALIDATE_API_KEY"] = "false"
    report = os.path.join(server.data_dir, "junit.xml")
    aside = " or ".join(SET_ASIDE)
    keyword = f"not ({aside})" + (f" and ({args.keyword})" if args.keyword else "")
    try:
        subprocess.run([python, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rfE", "--timeout", "120",
                        "-k", keyword, f"--junitxml={report}", *[os.path.join("tests", p) for p in args.paths]],
                       cwd=sdk, env=env)
    finally:
        server.stop()
    summarize(report)
    print("set aside:", "; ".join(f"{k}: {v}" for k, v in SET_ASIDE.items()))


def summarize(report):
    if not os.path.exists(report):
        print("no report written")
        return
    counts = defaultdict(lambda: defaultdict(int))
    files = defaultdict(lambda: defaultdict(int))
    for case in ET.parse(report).iter("testcase"):
        parts = case.get("classname", "").split(".")
        if parts and parts[0] == "tests":
            parts = parts[1:]
        directory = "/".join(parts[:2])
        # The module is the first part named test_*; a class of it may follow.
        module = next((i for i, p in enumerate(parts) if p.startswith("test_")), len(parts) - 1)
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed"
            elif child.tag == "skipped":
                outcome = "skipped"
        counts[directory][outcome] += 1
        files["/".join(parts[:module + 1]) + ".py"][outcome] += 1
    for title, table in (("directory", counts), ("file", files)):
        print(f"{title:48} {'passed':>7} {'failed':>7} {'skipped':>7}")
        for key in sorted(table):
            c = table[key]
            print(f"{key:48} {c['passed']:>7} {c['failed']:>7} {c['skipped']:>7}")
        print()


if __name__ == "__main__":
    main()
