#!/usr/bin/env python3
"""Soak checks behind the figures in BENCHMARKS.md that a benchmark run does not cover.

Starts its own `paddock server` (release or debug build) on a free loopback port with a throwaway data
directory, then, as root:

  cycles N    N create -> exec `true` -> destroy cycles through the REST API, one after another; prints
              cycles/s and everything left on the host (session directories, mounts, loop devices,
              cgroups, runtime state). Expect 0 left.
  restart N   N sessions each write a file; the server is killed with SIGKILL and started again; prints how
              many came back running with their file.
  execs S     20 clients run `true` in one session for S seconds; prints execs/s and errors.

Usage: scripts/soak.py [--binary .build/release/paddock] cycles 1000 restart 50 execs 30
Only loopback is contacted. Everything the script starts it stops, by pid.
"""
import argparse
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request


class Server:
    def __init__(self, binary):
        self.binary = binary
        self.data = tempfile.mkdtemp(prefix="paddock-soak-")
        os.chmod(self.data, 0o711)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [self.binary, "server", "--data-dir", self.data, "--listen", f"127.0.0.1:{self.port}",
             "--e2b-listen", "off", "--preview-listen", "off", "--log-level", "error"],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.data, "server.log"), "ab"))
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                self.token = open(os.path.join(self.data, "admin.token")).read().strip()
                self.call("GET", "/v1/sessions")
                return
            except Exception:
                time.sleep(0.1)
        raise SystemExit("the server did not come up; see " + os.path.join(self.data, "server.log"))

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait()

    def call(self, method, path, body=None):
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.read()

    def exec(self, sid, cmd):
        """Runs cmd; returns (exit code, stdout)."""
        out, code = b"", None
        for line in self.call("POST", f"/v1/sessions/{sid}/exec", {"cmd": cmd}).splitlines():
            event = json.loads(line)
            if event.get("type") == "stdout":
                out += base64.b64decode(event.get("data", ""))
            if event.get("type") == "exit":
                code = event.get("code")
        return code, out.decode()

    def state_dir(self):
        recorded = os.path.join(self.data, "state-dir")
        return open(recorded).read().strip() if os.path.exists(recorded) else self.data

    def leftovers(self):
        state = self.state_dir()
        sessions = os.path.join(state, "sessions")
        found = {"session directories": len(os.listdir(sessions)) if os.path.isdir(sessions) else 0}
        with open("/proc/self/mountinfo") as f:
            found["mounts"] = sum(1 for l in f if l.split()[4].startswith(sessions + "/"))
        loops = 0
        for dev in os.listdir("/sys/block"):
            backing = f"/sys/block/{dev}/loop/backing_file"
            if dev.startswith("loop") and os.path.exists(backing):
                loops += open(backing).read().strip().startswith(sessions + "/")
        found["loop devices"] = loops
        runtime = os.path.join(state, "runtime")
        found["runtime state"] = len(os.listdir(runtime)) if os.path.isdir(runtime) else 0
        return found

    def cleanup(self):
        self.stop()
        state = self.state_dir()
        shutil.rmtree(self.data, ignore_errors=True)
        if state != self.data:
            shutil.rmtree(state, ignore_errors=True)


def cycles(server, n):
    start = time.time()
    failures = 0
    for _ in range(n):
        sid = json.loads(server.call("POST", "/v1/sessions", {}))["id"]
        code, _ = server.exec(sid, ["true"])
        failures += code != 0
        server.call("DELETE", f"/v1/sessions/{sid}")
    elapsed = time.time() - start
    left = server.leftovers()
    print(f"cycles: {n} in {elapsed:.1f} s = {n / elapsed:.1f} cycles/s, {failures} failed execs, left: {left}")


def restart(server, n):
    ids = []
    for i in range(n):
        sid = json.loads(server.call("POST", "/v1/sessions", {"ttl": "30m"}))["id"]
        server.exec(sid, ["sh", "-c", f"echo {i} > /workspace/mark"])
        ids.append(sid)
    server.kill()
    began = time.time()
    server.start()
    listening = time.time() - began
    kept = 0
    for i, sid in enumerate(ids):
        state = json.loads(server.call("GET", f"/v1/sessions/{sid}"))["state"]
        code, out = server.exec(sid, ["cat", "/workspace/mark"]) if state == "running" else (None, "")
        kept += code == 0 and out == f"{i}\n"
    print(f"restart: {kept} of {n} sessions back with their files after kill -9; listening after {listening:.1f} s")
    for sid in ids:
        server.call("DELETE", f"/v1/sessions/{sid}")


def execs(server, seconds, clients=20):
    sid = json.loads(server.call("POST", "/v1/sessions", {}))["id"]
    ok, errors, lock = [0], [0], threading.Lock()
    stop = time.time() + seconds

    def client():
        while time.time() < stop:
            try:
                code, _ = server.exec(sid, ["true"])
                good = code == 0
            except Exception:
                good = False
            with lock:
                ok[0] += good
                errors[0] += not good

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"execs: {ok[0] / seconds:.0f} execs/s from {clients} clients, {errors[0]} errors")
    server.call("DELETE", f"/v1/sessions/{sid}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=".build/release/paddock")
    parser.add_argument("steps", nargs="+", help="cycles N | restart N | execs SECONDS")
    args = parser.parse_args()
    server = Server(args.binary)
    try:
        server.start()
        steps = iter(args.steps)
        for name in steps:
            value = int(next(steps))
            {"cycles": cycles, "restart": restart, "execs": execs}[name](server, value)
    finally:
        server.cleanup()


if __name__ == "__main__":
    sys.exit(main())
