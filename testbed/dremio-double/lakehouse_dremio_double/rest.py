"""The REST API subset the project uses, answered as Dremio 25.2 answers it.

* ``/apiv2``: server status, first-user bootstrap, login. Until the first user exists,
  every other ``/apiv2`` call (login included) is refused with 403 "No User Available".
* ``/api/v3``: catalog by path, source create and update, promotion, users, SQL jobs and
  their results. A missing or bad token is a 401 with no body. The token goes in
  ``Authorization`` as ``_dremio<token>``, ``Bearer <token>`` or bare.

Faults a test can inject (``Faults``): answer 503 to the next N requests, or answer slowly.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import pyarrow as pa

from lakehouse_dremio_double import sql
from lakehouse_dremio_double.catalog import ApiError, Catalog, iso, now_ms
from lakehouse_dremio_double.metrics import JobMetrics
from lakehouse_dremio_double.spaces import Spaces

log = logging.getLogger(__name__)

PASSWORD_RULE = re.compile(r"(?=.*[0-9])(?=.*[a-zA-Z]).{8,}")
PASSWORD_MESSAGE = (
    "Invalid password: must be at least 8 letters long, must contain at least one number "  # noqa: S105
    "and one letter"
)
RESULTS_LIMIT = 500
FINAL = ("COMPLETED", "FAILED", "CANCELED")


@dataclass
class Faults:
    unavailable_requests: int = 0  # answer 503 MASTER_DOWN to this many requests
    slow_seconds: float = 0.0  # delay every answer
    job_state: str | None = None  # report every job in this state (e.g. INVALID_STATE)
    requests: list[tuple[str, str]] = field(default_factory=list)
    max_page_seen: int = 0


@dataclass
class Job:
    id: str
    sql: str
    query_type: str
    state: str = "RUNNING"
    result: pa.Table | None = None
    error: str = ""
    started: int = field(default_factory=now_ms)
    ended: int | None = None

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "jobState": self.state,
            "rowCount": self.result.num_rows if self.result is not None else 0,
            "errorMessage": self.error if self.state == "FAILED" else "",
            "startedAt": iso(self.started),
            "queryType": self.query_type,
            "queueName": "Low Cost User Queries",
            "queueId": "low-cost",
            "cancellationReason": "",
        }
        if self.ended is not None:
            body["endedAt"] = iso(self.ended)
        return body


class Sessions:
    """Login tokens, shared by the REST API and Arrow Flight."""

    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}

    def issue(self, user: str) -> str:
        token = secrets.token_urlsafe(24)
        self.tokens[token] = user
        return token

    def user_of(self, header: str | None) -> str | None:
        if not header:
            return None
        parts = header.split()
        if len(parts) == 2 and parts[0].lower() == "bearer":
            token = parts[1]
        else:
            token = header.removeprefix("_dremio").strip()
        return self.tokens.get(token)


class Api:
    """Routes and their semantics, independent of the HTTP plumbing."""

    def __init__(self, catalog: Catalog, sessions: Sessions, faults: Faults) -> None:
        self.catalog, self.sessions, self.faults = catalog, sessions, faults
        self.kv = catalog.kv
        self.jobs: dict[str, Job] = {}
        self.meters = JobMetrics()  # what Dremio's job meters would count (metrics.py)
        self.spaces = Spaces(catalog.kv)

    # --- jobs -------------------------------------------------------------------------------
    def submit(self, text: str, query_type: str = "REST") -> Job:
        job = Job(str(uuid.uuid4()), text, query_type)
        self.jobs[job.id] = job
        self.meters.started(query_type)

        def execute() -> None:
            error_type: str | None = None
            try:
                job.result = sql.run(self.catalog, text)
                job.state = "COMPLETED"
            except ApiError as err:
                job.error, job.state, error_type = err.message, "FAILED", "VALIDATION"
            except Exception as err:  # a bug in the double shows as a failed job, as in Dremio
                job.error, job.state = f"{type(err).__name__}: {err}", "FAILED"
                error_type = "SYSTEM"
            job.ended = now_ms()
            self.meters.ended(query_type, error_type)

        threading.Thread(target=execute, daemon=True).start()
        return job

    def run_now(self, text: str, query_type: str) -> pa.Table:
        """A query for Flight: run it and return its rows, or ApiError."""
        self.meters.started(query_type)
        try:
            table = sql.run(self.catalog, text)
        except ApiError:
            self.meters.ended(query_type, "VALIDATION")
            raise
        except Exception:
            self.meters.ended(query_type, "SYSTEM")
            raise
        self.meters.ended(query_type, None)
        return table

    def _job(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None:
            raise ApiError(404, f"Could not find a job with id [{job_id}]")
        return job

    def job_status(self, job_id: str) -> dict[str, Any]:
        status = self._job(job_id).status()
        if self.faults.job_state:
            status["jobState"] = self.faults.job_state
        return status

    def job_results(self, job_id: str, query: dict[str, list[str]]) -> str:
        offset = int(query.get("offset", ["0"])[0])
        limit = int(query.get("limit", ["100"])[0])
        self.faults.max_page_seen = max(self.faults.max_page_seen, limit)
        if limit > RESULTS_LIMIT:
            raise ApiError(400, "limit can not exceed 500 rows")
        job = self._job(job_id)
        state = self.faults.job_state or job.state
        if state != "COMPLETED" or job.result is None:
            raise ApiError(400, f"Can not fetch details for a job that is in [{state}] state.")
        schema = json.dumps(sql.schema_json(job.result.schema))
        rows = sql.rows_json(job.result, offset, limit)
        return f'{{"rowCount":{job.result.num_rows},"schema":{schema},"rows":{rows}}}'

    # --- users ------------------------------------------------------------------------------
    def first_user(self, body: dict[str, Any]) -> dict[str, Any]:
        if self.kv.store.users:
            raise ApiError(
                400, "First user can only be created when no user is already registered", "user"
            )
        name = str(body.get("userName") or "")
        if not name or any(c in name for c in "\"':"):
            raise ApiError(400, "Invalid username: can not contain quotes or colons.", "user")
        if not PASSWORD_RULE.match(str(body.get("password") or "")):
            raise ApiError(400, PASSWORD_MESSAGE, "user")
        user = self.kv.add_user(
            name,
            str(body.get("firstName") or ""),
            str(body.get("lastName") or ""),
            str(body.get("email") or ""),
            str(body["password"]),
        )
        return {
            "resourcePath": f"/user/{name}",
            "userName": name,
            "userConfig": {"uid": {"id": user.id}, "userName": name, "email": user.email},
            "name": name,
            "id": user.id,
            "links": {"self": f"/user/{name}"},
        }

    def login(self, body: dict[str, Any]) -> dict[str, Any]:
        name, password = body.get("userName"), body.get("password")
        if not name or not password:
            raise ApiError(401, "user name or password cannot be null or empty", "generic")
        user = self.kv.user_by_name(str(name))
        if user is None or not user.password_is(str(password)):
            raise ApiError(
                401, f"Login failed: Invalid username or password, user {name}", "generic"
            )
        return {
            "token": self.sessions.issue(user.name),
            "userName": name,
            "firstName": user.first_name,
            "lastName": user.last_name,
            "expires": now_ms() + 30 * 3600 * 1000,
            "email": user.email,
            "userId": user.id,
            "admin": True,
            "clusterId": "double",
            "version": self.kv.store.version,
            "permissions": {"canUploadProfiles": True, "canDownloadProfiles": True},
        }

    def user_by_name(self, name: str) -> dict[str, Any]:
        user = self.kv.user_by_name(name)
        if user is None:
            raise ApiError(404, f"User '{name}' not found", "generic")
        return user.v3()

    def update_user(self, user_id: str, body: dict[str, Any]) -> dict[str, Any]:
        user = self.kv.store.users.get(user_id)
        if user is None:
            raise ApiError(404, f"User with given id '{user_id}' not found")
        if body.get("name") != user.name:
            raise ApiError(415, "Changing of user name is not supported")
        tag = body.get("tag")
        if tag is not None and tag != user.tag:
            raise ApiError(409, f"Tried to update version {tag}, found tag {user.tag}")
        password = body.get("password")
        if password is not None and not PASSWORD_RULE.match(str(password)):
            raise ApiError(400, PASSWORD_MESSAGE, "user")
        with self.kv.lock:
            for key, attr in (("firstName", "first_name"), ("lastName", "last_name")):
                if body.get(key) is not None:
                    setattr(user, attr, str(body[key]))
            if body.get("email") is not None:
                user.email = str(body["email"])
            if password is not None:
                user.set_password(str(password))
            user.tag = secrets.token_urlsafe(8)
            self.kv.save()
        return user.v3()


class DremioHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    api: Api  # set on the subclass the server makes

    def log_message(self, *_args: object) -> None:
        pass

    # --- plumbing ---------------------------------------------------------------------------
    def _send_text(self, status: int, text: str | None) -> None:
        data = b"" if text is None else text.encode()
        self.send_response(status)
        if text is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send(self, status: int, body: Any) -> None:
        self._send_text(status, None if body is None else json.dumps(body))

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        parsed = urlparse(self.path)
        faults = self.api.faults
        faults.requests.append((method, parsed.path))
        if faults.slow_seconds:
            time.sleep(faults.slow_seconds)
        if faults.unavailable_requests > 0:
            faults.unavailable_requests -= 1
            self._send(503, "MASTER_DOWN")
            return
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            self._send(400, {"errorMessage": "Invalid value.", "moreInfo": "", "stackTrace": []})
            return
        try:
            status, answer = self._route(method, parsed.path, parse_qs(parsed.query), body)
        except ApiError as err:
            self._send(err.status, err.body())
            return
        except Exception as err:  # what Dremio's generic exception mapper answers
            log.exception("%s %s failed", method, parsed.path)
            self._send(500, {"errorMessage": str(err), "moreInfo": "", "stackTrace": []})
            return
        if isinstance(answer, str) and answer.startswith("{"):
            self._send_text(status, answer)  # pre-rendered JSON (results pages)
        else:
            self._send(status, answer)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    # --- routes -----------------------------------------------------------------------------
    def _route(
        self, method: str, path: str, query: dict[str, list[str]], body: dict[str, Any]
    ) -> tuple[int, Any]:
        api = self.api
        if path == "/apiv2/server_status" and method == "GET":
            return 200, "OK"
        if path.startswith("/apiv2/"):
            if path == "/apiv2/bootstrap/firstuser" and method == "PUT":
                return 200, api.first_user(body)
            if not api.kv.store.users:
                raise ApiError(403, "No User Available", "generic")
            if path == "/apiv2/login" and method == "POST":
                return 200, api.login(body)
            raise ApiError(404, f"HTTP 404 Not Found: {path}")
        if not path.startswith("/api/v3/"):
            raise ApiError(404, f"HTTP 404 Not Found: {path}")
        if api.sessions.user_of(self.headers.get("Authorization")) is None:
            raise ApiError(401, "", "empty")
        return self._route_v3(method, path.removeprefix("/api/v3"), query, body)

    def _route_v3(
        self, method: str, path: str, query: dict[str, list[str]], body: dict[str, Any]
    ) -> tuple[int, Any]:
        api = self.api
        if path == "/catalog" or path.startswith("/catalog/"):
            return 200, self._route_catalog(method, path, body)
        if method == "GET" and path == "/reflection":
            return 200, {"data": []}  # the double keeps no reflections
        if method == "POST" and path == "/sql":
            return 200, {"id": api.submit(str(body.get("sql") or "")).id}
        match = re.fullmatch(r"/job/([^/]+)(/results)?", path)
        if match and method == "GET":
            if match.group(2):
                return 200, api.job_results(match.group(1), query)
            return 200, api.job_status(match.group(1))
        match = re.fullmatch(r"/user/by-name/([^/]+)", path)
        if match and method == "GET":
            return 200, api.user_by_name(unquote(match.group(1)))
        match = re.fullmatch(r"/user/([^/]+)", path)
        if match and method == "PUT":
            return 200, api.update_user(unquote(match.group(1)), body)
        raise ApiError(404, f"HTTP 404 Not Found: {path}")

    def _route_catalog(self, method: str, path: str, body: dict[str, Any]) -> Any:
        catalog, spaces = self.api.catalog, self.api.spaces
        if method == "GET" and path.startswith("/catalog/by-path/"):
            segments = [unquote(s) for s in path.removeprefix("/catalog/by-path/").split("/")]
            return spaces.by_path(segments) if spaces.owns(segments) else catalog.by_path(segments)
        if method == "GET" and path == "/catalog":
            return {"data": [*catalog.root_items(), *spaces.root_items()]}
        if method == "POST" and path == "/catalog":
            if body.get("entityType") == "source":
                return catalog.create_source(body)
            return spaces.create(body)
        match = re.fullmatch(r"/catalog/([^/]+)", path)
        if match and method == "GET":
            entity_id = unquote(match.group(1))
            return spaces.by_id(entity_id) or catalog.by_id(entity_id)
        if match and method == "PUT":
            return catalog.update_source(unquote(match.group(1)), body)
        if match and method == "POST":
            return catalog.promote(unquote(match.group(1)), body)
        raise ApiError(404, f"HTTP 404 Not Found: {path}")


def http_server(api: Api, host: str, port: int) -> ThreadingHTTPServer:
    handler = type("BoundDremioHandler", (DremioHandler,), {"api": api})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server
