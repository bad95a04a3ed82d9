"""A model server for tests that records the environment it was given: every name, and the values of those
named on its command line, as JSON in a file; answers 200 ``{}`` to every GET and POST.

    python tests/env_server.py PORT OUT.json [NAME ...]
"""

from __future__ import annotations

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Answer(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._answer()

    def _answer(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *_: object) -> None:  # quiet
        pass


def main() -> None:
    port, out, shown = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    with open(out, "w", encoding="utf-8") as stream:
        json.dump({"names": sorted(os.environ), "values": {n: os.environ.get(n) for n in shown}}, stream)
    ThreadingHTTPServer(("127.0.0.1", port), Answer).serve_forever()


if __name__ == "__main__":
    main()
