"""A local HTTP server that speaks Dremio's documented REST API, for contract tests.

It implements what the project's client uses, with the answers Dremio 25.x gives
(shapes and messages from the OSS source): first-user bootstrap, login and the
``_dremio<token>`` header, catalog by path / create / update with tags / promote, SQL jobs
with their states, and results pages limited to 500 rows. Failures are injected per test:
503 while "starting", a slow answer (for timeouts), a failing job.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

PASSWORD_RULE = re.compile(r"(?=.*[0-9])(?=.*[a-zA-Z]).{8,}")


@dataclass
class Job:
    sql: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    schema: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    polls_until_done: int = 1
    polls: int = 0


@dataclass
class DremioState:
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    entities: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> entity
    folders: set[tuple[str, ...]] = field(default_factory=set)  # paths that exist in sources
    jobs: dict[str, Job] = field(default_factory=dict)
    query_results: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    failing_queries: dict[str, str] = field(default_factory=dict)
    unavailable_requests: int = 0  # answer 503 MASTER_DOWN to this many requests
    slow_seconds: float = 0.0  # delay every answer (timeouts)
    refreshed: list[str] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    max_page_seen: int = 0


class FakeDremio:
    def __init__(self) -> None:
        self.state = DremioState()
        self.lock = threading.Lock()
        handler = _make_handler(self)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeDremio:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def find_by_path(self, path: list[str]) -> dict[str, Any] | None:
        for entity in self.state.entities.values():
            if entity["path"] == path:
                return entity
        if tuple(path) in self.state.folders:
            return {
                "entityType": "folder",
                "id": "dremio:/" + "/".join(path),
                "path": path,
                "tag": "0",
            }
        return None


def _make_handler(fake: FakeDremio) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args: object) -> None:  # keep pytest output clean
            pass

        # --- plumbing -----------------------------------------------------------------
        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, message: str) -> None:
            self._send(status, {"errorMessage": message, "moreInfo": ""})

        def _body(self) -> dict[str, Any]:
            return self._payload

        def _read_body(self) -> None:
            # Read it before any answer: an unread body would corrupt the kept-alive connection.
            length = int(self.headers.get("Content-Length") or 0)
            self._payload: dict[str, Any] = json.loads(self.rfile.read(length)) if length else {}

        def _authorised(self) -> bool:
            header = self.headers.get("Authorization", "")
            token = header.removeprefix("_dremio")
            if header.startswith("_dremio") and token in fake.state.tokens:
                return True
            self._error(401, "Authentication failed")
            return False

        def _handle(self, method: str) -> None:
            state = fake.state
            self._read_body()
            parsed = urlparse(self.path)
            state.requests.append((method, parsed.path))
            if state.slow_seconds:
                time.sleep(state.slow_seconds)
            with fake.lock:
                if state.unavailable_requests > 0:
                    state.unavailable_requests -= 1
                    self._send(503, "MASTER_DOWN")
                    return
            route = getattr(self, "_route_" + method.lower())
            route(parsed.path, parse_qs(parsed.query))

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_PUT(self) -> None:
            self._handle("PUT")

        # --- routes -------------------------------------------------------------------
        def _route_get(self, path: str, query: dict[str, list[str]]) -> None:
            state = fake.state
            if path == "/apiv2/server_status":
                self._send(200, "OK")
                return
            if not self._authorised():
                return
            if path.startswith("/api/v3/catalog/by-path/"):
                segments = [
                    unquote(s) for s in path.removeprefix("/api/v3/catalog/by-path/").split("/")
                ]
                entity = fake.find_by_path(segments)
                if entity is None:
                    self._error(404, f"Could not find entity with path [{segments}]")
                else:
                    self._send(200, entity)
                return
            m = re.fullmatch(r"/api/v3/job/([^/]+)(/results)?", path)
            if m:
                job = state.jobs.get(m.group(1))
                if job is None:
                    self._error(404, f"Could not find a job with id [{m.group(1)}]")
                    return
                if m.group(2):
                    self._results(job, query)
                else:
                    self._send(200, self._status(job))
                return
            self._error(404, f"no route {path}")

        def _status(self, job: Job) -> dict[str, Any]:
            job.polls += 1
            if job.polls < job.polls_until_done:
                return {"jobState": "RUNNING", "rowCount": 0, "errorMessage": ""}
            if job.error:
                return {"jobState": "FAILED", "rowCount": 0, "errorMessage": job.error}
            return {"jobState": "COMPLETED", "rowCount": len(job.rows), "errorMessage": ""}

        def _results(self, job: Job, query: dict[str, list[str]]) -> None:
            offset = int(query.get("offset", ["0"])[0])
            limit = int(query.get("limit", ["100"])[0])
            fake.state.max_page_seen = max(fake.state.max_page_seen, limit)
            if limit > 500:
                self._error(400, "limit can not exceed 500 rows")
                return
            if job.error or job.polls < job.polls_until_done:
                self._error(400, "Can not fetch details for a job that is in [RUNNING] state.")
                return
            self._send(
                200,
                {
                    "rowCount": len(job.rows),
                    "schema": job.schema,
                    "rows": job.rows[offset : offset + limit],
                },
            )

        def _route_put(self, path: str, _query: dict[str, list[str]]) -> None:
            state = fake.state
            body = self._body()
            if path == "/apiv2/bootstrap/firstuser":
                if state.users:
                    self._error(
                        400, "First user can only be created when no user is already registered"
                    )
                elif not PASSWORD_RULE.match(body.get("password", "")):
                    self._error(
                        400,
                        "Invalid password: must be at least 8 letters long, must "
                        "contain at least one number and one letter",
                    )
                else:
                    state.users[body["userName"]] = body
                    self._send(200, {"userName": body["userName"]})
                return
            if not self._authorised():
                return
            m = re.fullmatch(r"/api/v3/catalog/([^/]+)", path)
            if m:
                entity_id = unquote(m.group(1))
                current = state.entities.get(entity_id)
                if current is None:
                    self._error(404, f"Could not find entity with id [{entity_id}]")
                elif body.get("tag") != current["tag"]:
                    self._error(409, "The tag does not match the current version")
                else:
                    state.entities[entity_id] = {**body, "tag": str(int(current["tag"]) + 1)}
                    self._send(200, state.entities[entity_id])
                return
            self._error(404, f"no route {path}")

        def _route_post(self, path: str, _query: dict[str, list[str]]) -> None:
            state = fake.state
            body = self._body()
            if path == "/apiv2/login":
                user = state.users.get(body.get("userName", ""))
                if user is None or user["password"] != body.get("password"):
                    self._error(401, "Login failed: Invalid username or password")
                    return
                token = secrets.token_hex(8)
                state.tokens[token] = user["userName"]
                self._send(200, {"token": token, "userName": user["userName"], "admin": True})
                return
            if not self._authorised():
                return
            if path == "/api/v3/catalog":
                if fake.find_by_path([body["name"]]):
                    self._error(409, f"A source with the name [{body['name']}] already exists.")
                    return
                entity_id = secrets.token_hex(6)
                state.entities[entity_id] = {
                    **body,
                    "id": entity_id,
                    "tag": "0",
                    "path": [body["name"]],
                }
                self._send(200, state.entities[entity_id])
                return
            m = re.fullmatch(r"/api/v3/catalog/([^/]+)", path)
            if m:
                self._promote(unquote(m.group(1)), body)
                return
            if path == "/api/v3/sql":
                self._submit(body.get("sql", ""))
                return
            self._error(404, f"no route {path}")

        def _promote(self, entity_id: str, body: dict[str, Any]) -> None:
            state = fake.state
            path = body.get("path", [])
            if body.get("type") != "PHYSICAL_DATASET":
                self._error(400, "Promoting can only create physical datasets.")
            elif "format" not in body:
                self._error(400, "To promote a dataset, format settings are required.")
            elif entity_id != "dremio:/" + "/".join(path) or tuple(path) not in state.folders:
                self._error(404, f"Could not find entity with id [{entity_id}]")
            else:
                new_id = secrets.token_hex(6)
                state.entities[new_id] = {
                    "entityType": "dataset",
                    "id": new_id,
                    "path": path,
                    "tag": "0",
                    "format": body["format"],
                    "type": "PHYSICAL_DATASET",
                }
                state.folders.discard(tuple(path))
                self._send(200, state.entities[new_id])

        def _submit(self, sql: str) -> None:
            state = fake.state
            job = Job(sql=sql, polls_until_done=2)
            refresh = re.fullmatch(r"ALTER TABLE (.+) REFRESH METADATA", sql)
            if refresh:
                state.refreshed.append(refresh.group(1))
            elif sql in state.failing_queries:
                job.error = state.failing_queries[sql]
            elif sql in state.query_results:
                job.rows = state.query_results[sql]
                job.schema = [
                    {"name": k, "type": {"name": "VARCHAR"}}
                    for k in (job.rows[0] if job.rows else {})
                ]
            else:
                job.error = f"Table '{sql}' not found"
            job_id = secrets.token_hex(8)
            state.jobs[job_id] = job
            self._send(200, {"id": job_id})

    return Handler
