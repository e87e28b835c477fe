import Foundation
import PaddockCore
import PaddockSandbox
import PaddockServices

/// A small web app run with python3, in a sandbox or on the host: `GET` answers the request it saw as JSON
/// (path and headers) and sets a cookie with a `Domain`; `/page` is an HTML page whose script echoes a message
/// over a WebSocket; `/sse` streams three chunked events; `POST` answers the size and SHA-256 of its body; a
/// WebSocket upgrade on any other path echoes frames back (python3's standard library has no WebSocket server,
/// so the handshake and frames are done here). The preview benchmarks measure it through the preview proxy and
/// directly; the preview tests use it too.
public enum PreviewBenchApp {
    public static let script = #"""
        import base64, hashlib, json, sys
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class App(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: with Nagle on, a kept-alive client waits out a delayed ACK.
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def answer(self, status, body, kind="application/json", extra=()):
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                for name, value in extra:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.headers.get("Upgrade", "").lower() == "websocket":
                    return self.websocket()
                if self.path == "/sse":
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for i in range(3):
                        data = ("data: %d\n\n" % i).encode()
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                        self.wfile.flush()
                    self.wfile.write(b"0\r\n\r\n")
                    return
                if self.path == "/page":
                    body = (b"<!doctype html><title>app</title><h1>hello from the sandbox</h1><p id=ws>waiting</p>"
                            b"<script>const ws = new WebSocket(location.origin.replace('http', 'ws') + '/ws');"
                            b"ws.onopen = () => ws.send('ping');"
                            b"ws.onmessage = (e) => { document.getElementById('ws').textContent = 'echo:' + e.data; };"
                            b"ws.onerror = () => { document.getElementById('ws').textContent = 'error'; };</script>")
                    return self.answer(200, body, "text/html")
                seen = {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}}
                self.answer(200, json.dumps(seen).encode(),
                            extra=[("Set-Cookie", "app=1; Domain=preview.localhost; Path=/")])

            def do_POST(self):
                data = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                seen = {"received": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                self.answer(200, json.dumps(seen).encode())

            def websocket(self):
                key = self.headers["Sec-WebSocket-Key"] + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
                accept = base64.b64encode(hashlib.sha1(key.encode()).digest()).decode()
                self.send_response(101)
                self.send_header("Upgrade", "websocket")
                self.send_header("Connection", "Upgrade")
                self.send_header("Sec-WebSocket-Accept", accept)
                self.end_headers()
                self.wfile.flush()
                self.close_connection = True
                while True:
                    head = self.rfile.read(2)
                    if len(head) < 2:
                        return
                    op, n = head[0] & 0x0F, head[1] & 0x7F
                    if n == 126:
                        n = int.from_bytes(self.rfile.read(2), "big")
                    elif n == 127:
                        n = int.from_bytes(self.rfile.read(8), "big")
                    mask = self.rfile.read(4) if head[1] & 0x80 else b"\0\0\0\0"
                    data = bytes(b ^ mask[i % 4] for i, b in enumerate(self.rfile.read(n)))
                    if op == 8:
                        self.wfile.write(b"\x88\x00")
                        self.wfile.flush()
                        return
                    size = bytes([len(data)]) if len(data) < 126 else bytes([126]) + len(data).to_bytes(2, "big")
                    self.wfile.write(bytes([0x80 | op]) + size + data)
                    self.wfile.flush()

        server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), App)
        print("listening", flush=True)  # the benchmark waits for this line, not for a first answer
        server.serve_forever()
        """#

    /// Writes the app into the session and starts it on `port` in the background; returns once it listens.
    public static func start(in id: SessionID, port: UInt16, sessions: SessionService) async throws {
        let encoded = Array(script.utf8).map { String(format: "%02x", $0) }.joined()
        // The app's first line says it listens: the shell reads it from a FIFO (an app that dies first closes it,
        // and the empty read fails) and leaves the app running in the background.
        let shell =
            "echo \(encoded) | python3 -c 'import sys,binascii; sys.stdout.buffer.write(binascii.unhexlify(sys.stdin.read().strip()))' > /tmp/app.py"
            + " && rm -f /tmp/app.out && mkfifo /tmp/app.out"
            + " && (python3 /tmp/app.py \(port) >/tmp/app.out 2>/tmp/app.log &)"
            + " && read -r line < /tmp/app.out && [ \"$line\" = listening ] || { cat /tmp/app.log; exit 1; }"
        let handle = try await sessions.exec(id, SessionCommand(["/bin/sh", "-c", shell]), by: .system)
        var output: [UInt8] = []
        var status: Int32 = -1
        for try await event in handle.events {
            switch event {
            case .stdout(let bytes), .stderr(let bytes): output += bytes
            case .exited(let exit): status = exit.code
            case .started: break
            }
        }
        guard status == 0 else {
            throw PaddockError.internal("the preview app did not start: \(String(decoding: output, as: UTF8.self))")
        }
    }
}
