"""A loopback OTLP/HTTP trace receiver for the tests: decodes each export with opentelemetry-proto and appends one
JSON line per span to OUT (trace and span ids in hex, name, attributes as strings); every raw body is appended to
RAW too, so a test can search what was actually sent. Writes its port to PORT_FILE once listening.

usage: otlp_receiver.py PORT_FILE OUT RAW
"""
import gzip
import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

port_file, out_path, raw_path = sys.argv[1:4]
# Started from a thread that blocks signals: the test's SIGTERM must end this process.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})


def value(v):
    kind = v.WhichOneof("value")
    if kind is None:
        return ""
    return str(getattr(v, kind))


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        if self.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        with open(raw_path, "ab") as raw:
            raw.write(body)
        if self.path != "/v1/traces":
            self.send_response(404)
            self.end_headers()
            return
        request = trace_service_pb2.ExportTraceServiceRequest()
        request.ParseFromString(body)
        with open(out_path, "a") as out:
            for resource_spans in request.resource_spans:
                service = {a.key: value(a.value) for a in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        out.write(json.dumps({
                            "service": service.get("service.name", ""),
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "parent_span_id": span.parent_span_id.hex(),
                            "name": span.name,
                            "attributes": {a.key: value(a.value) for a in span.attributes},
                            "links": [link.trace_id.hex() for link in span.links],
                        }) + "\n")
        answer = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
