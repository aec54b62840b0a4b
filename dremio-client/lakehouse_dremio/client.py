"""A client for Dremio OSS 25.2's REST API (v2 bootstrap and login, v3 catalog, users, SQL).

Used by the in-cluster bootstrap Job and by the CLI. It follows what 25.2 really answers
(read from its source; docs/dremio-contract.md gives the lines): a path that does not exist
yet inside an S3 source is an internal error (500), not a 404, so a table is looked for
among its parent folder's children; before the first user exists every v2 call is refused
with 403 "No User Available"; a job reported in ``INVALID_STATE`` (Dremio's name for an
attempt state it cannot map) is reported rather than waited on.

Every call has a timeout; calls that are safe to repeat are retried with exponential
backoff (tenacity) while Dremio is starting (refused connections, 502/503/504), and every
failure surfaces as a ``DremioError`` that says what happened and what to do.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
import tenacity

from lakehouse_core.errors import LakehouseError

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

RESULTS_PAGE_LIMIT = 500  # Dremio refuses larger pages
# COMPLETED, FAILED and CANCELED are Dremio's final states. INVALID_STATE is what it reports
# for an attempt state it cannot map; nothing moves a job out of it, so waiting ends there.
FINAL_JOB_STATES = ("COMPLETED", "FAILED", "CANCELED", "INVALID_STATE")
RETRYABLE_STATUS = (502, 503, 504)


class DremioError(LakehouseError):
    """Base class: something Dremio did or did not do."""


class DremioUnavailable(DremioError):
    """Dremio did not answer (or only with 5xx) within the retries."""

    hint = "is it running and reachable? `lakehouse status` shows the Dremio pods"


AUTH_REFUSED = "Dremio refused the credentials: "


class DremioAuthError(DremioError):
    """Wrong user name or password, or an expired token."""

    hint = "check the user and password (the dremio-admin Secret holds the deployed ones)"


class DremioNoUser(DremioError):
    """Dremio has no user yet: only the first-user bootstrap is allowed."""

    hint = (
        "the bootstrap Job creates the admin user: "
        "`kubectl -n lakehouse-dremio logs job/dremio-bootstrap` says how far it got"
    )


class DremioRequestError(DremioError):
    def __init__(self, message: str, status: int, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.status = status


class DremioJobFailed(DremioError):
    def __init__(self, job_id: str, state: str, message: str) -> None:
        super().__init__(f"Dremio job {job_id} ended {state}: {message or '(no message)'}")
        self.job_id, self.state, self.error_message = job_id, state, message


class DremioTimeout(DremioError):
    pass


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 8
    initial_delay: float = 0.5
    max_delay: float = 15.0


@dataclass
class QueryResult:
    job_id: str
    columns: list[str]
    rows: list[dict[str, Any]]
    row_count: int
    schema: list[dict[str, Any]] = field(default_factory=list)

    def to_arrow(self) -> pa.Table:
        """The rows as an Arrow table typed by Dremio's result schema."""
        import pyarrow as pa

        arrays, fields = [], []
        for column in self.schema:
            kind = arrow_type(column["type"])
            values = [convert_value(row.get(column["name"]), kind) for row in self.rows]
            arrays.append(pa.array(values, type=kind))
            fields.append(pa.field(column["name"], kind))
        return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def arrow_type(dremio_type: dict[str, Any]) -> pa.DataType:
    import pyarrow as pa

    name = dremio_type.get("name")
    simple = {
        "TINYINT": pa.int8(),
        "SMALLINT": pa.int16(),
        "INTEGER": pa.int32(),
        "BIGINT": pa.int64(),
        "FLOAT": pa.float32(),
        "DOUBLE": pa.float64(),
        "BOOLEAN": pa.bool_(),
        "DATE": pa.date32(),
        "TIMESTAMP": pa.timestamp("ms"),
        "VARCHAR": pa.string(),
        "VARBINARY": pa.binary(),
    }
    if name == "DECIMAL":
        return pa.decimal128(int(dremio_type["precision"]), int(dremio_type["scale"]))
    return simple.get(str(name), pa.string())


def convert_value(value: Any, kind: pa.DataType) -> Any:
    """A JSON value of a results page as the Python value of its Arrow type."""
    import base64
    import datetime as dt

    import pyarrow as pa

    if value is None:
        return None
    if pa.types.is_timestamp(kind):  # "YYYY-MM-DD HH:MM:SS.mmm", UTC, no zone
        return dt.datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S.%f")
    if pa.types.is_date(kind):
        return dt.date.fromisoformat(str(value))
    if pa.types.is_decimal(kind):
        return Decimal(str(value))
    if pa.types.is_floating(kind):
        return float(value)
    if pa.types.is_binary(kind):
        return base64.b64decode(value)
    if pa.types.is_string(kind) and not isinstance(value, str):
        return json.dumps(value) if isinstance(value, dict | list) else str(value)
    return value


def quote_path(path: list[str]) -> str:
    """A dotted SQL path with every segment double-quoted (names may hold dots or dashes)."""
    return ".".join('"' + segment.replace('"', '""') + '"' for segment in path)


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500] or response.reason_phrase
    if isinstance(body, dict):
        return str(body.get("errorMessage") or body.get("message") or body)[:500]
    return str(body)[:500]


class _Retryable(Exception):
    def __init__(self, failure: str, cause: Exception | None) -> None:
        super().__init__(failure)
        self.failure, self.cause = failure, cause


class DremioClient:
    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        http: httpx.Client | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._http = http or httpx.Client(base_url=self.base_url, timeout=timeout)
        self._token: str | None = None

    # --- plumbing ----------------------------------------------------------------------
    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> DremioClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self._token:
            headers["Authorization"] = f"_dremio{self._token}"
        return headers

    def _attempt(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, headers=self._headers(), **kwargs)
        except httpx.TimeoutException as err:
            raise _Retryable(f"timed out ({err.__class__.__name__})", err) from err
        except httpx.TransportError as err:
            raise _Retryable(f"could not connect ({err})", err) from err
        if response.status_code in RETRYABLE_STATUS:
            raise _Retryable(f"answered {response.status_code} {_error_message(response)}", None)
        return response

    def _request(
        self, method: str, path: str, *, retry: bool = True, **kwargs: Any
    ) -> httpx.Response:
        policy = self.retry
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_Retryable),
            wait=tenacity.wait_exponential(
                multiplier=policy.initial_delay, min=policy.initial_delay, max=policy.max_delay
            ),
            stop=tenacity.stop_after_attempt(policy.attempts if retry else 1),
            sleep=self._sleep,
            before_sleep=lambda state: log.info(
                "Dremio %s; retrying %s %s",
                state.outcome.exception() if state.outcome else "failed",
                method,
                path,
            ),
        )
        try:
            response = retrying(self._attempt, method, path, **kwargs)
        except tenacity.RetryError as err:
            last = err.last_attempt.exception()
            assert isinstance(last, _Retryable)
            raise DremioUnavailable(
                f"Dremio at {self.base_url} {last.failure} on {method} {path}"
            ) from last.cause
        return self._checked(method, path, response)

    def _checked(self, method: str, path: str, response: httpx.Response) -> httpx.Response:
        message = _error_message(response)
        if response.status_code == 403 and message == "No User Available":
            raise DremioNoUser(f"Dremio at {self.base_url} has no user yet ({method} {path})")
        if response.status_code == 401:
            raise DremioAuthError(f"{AUTH_REFUSED}{message or 'no valid token'}")
        if response.status_code >= 400:
            raise DremioRequestError(
                f"{method} {path} failed with {response.status_code}: {message}",
                response.status_code,
            )
        return response

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        """Decimals stay exact: Dremio writes them as JSON numbers with their scale."""
        return json.loads(response.text, parse_float=Decimal)

    def get_json(self, path: str) -> Any:
        """GET one of the API's paths (``/api/v3/...``); its JSON."""
        return self._json(self._request("GET", path))

    def post_json(self, path: str, body: dict[str, Any]) -> Any:
        """POST (not retried: a create must not happen twice); the answer's JSON."""
        return self._json(self._request("POST", path, json=body, retry=False))

    # --- server and users --------------------------------------------------------------
    def server_status(self) -> str:
        return str(self._request("GET", "/apiv2/server_status", retry=False).json())

    def wait_until_ready(self, timeout: float = 600.0, poll: float = 5.0) -> None:
        """Block until Dremio reports OK; refused connections and 503 mean 'still starting'."""
        last = {"answer": "no answer"}

        def ready() -> bool:
            try:
                status = self.server_status()
            except (DremioUnavailable, DremioRequestError) as err:
                last["answer"] = str(err)
                return False
            last["answer"] = status
            return status.strip('"') == "OK"

        try:
            tenacity.Retrying(
                retry=tenacity.retry_if_result(lambda ok: not ok),
                wait=tenacity.wait_fixed(poll),
                stop=tenacity.stop_after_delay(timeout),
                sleep=self._sleep,
            )(ready)
        except tenacity.RetryError:
            raise DremioTimeout(
                f"Dremio at {self.base_url} was not ready after {timeout:.0f}s: {last['answer']}",
                hint="Dremio takes minutes to start; `kubectl -n lakehouse-dremio logs "
                "statefulset/dremio-coordinator` shows where it is",
            ) from None

    def create_first_user(self, user: str, password: str, email: str) -> bool:
        """Create the admin on a fresh install; False when a user already exists."""
        body = {
            "userName": user,
            "firstName": "Lakehouse",
            "lastName": "Admin",
            "email": email,
            "password": password,
        }
        try:
            self._request("PUT", "/apiv2/bootstrap/firstuser", json=body)
        except DremioRequestError as err:
            if err.status == 400 and "no user is already registered" in str(err):
                return False
            raise
        return True

    def login(self, user: str, password: str) -> None:
        try:
            response = self._request(
                "POST", "/apiv2/login", json={"userName": user, "password": password}
            )
        except DremioAuthError as err:
            reason = str(err).removeprefix(AUTH_REFUSED)
            raise DremioAuthError(
                f"Dremio at {self.base_url} refused the login of user {user!r}: {reason}"
            ) from None
        token = response.json().get("token")
        if not token:
            raise DremioAuthError("Dremio's login answer carried no token")
        self._token = str(token)

    def set_password(self, user: str, password: str) -> None:
        """Give an existing user a new password (as an admin; the old one is not needed)."""
        current = self._request("GET", f"/api/v3/user/by-name/{quote(user, safe='')}").json()
        body = {
            "id": current["id"],
            "name": current["name"],
            "tag": current.get("tag"),
            "password": password,
        }
        self._request("PUT", f"/api/v3/user/{quote(current['id'], safe='')}", json=body)

    # --- catalog -----------------------------------------------------------------------
    def catalog_by_path(self, path: list[str]) -> dict[str, Any] | None:
        """The entity at ``path``, or None when Dremio says it does not exist (404).

        Inside an S3 source a path that does not exist is a 500 (a wrapped
        FileNotFoundException), which this raises: use ``children`` to find tables.
        """
        encoded = "/".join(quote(p, safe="") for p in path)
        try:
            return dict(self._json(self._request("GET", f"/api/v3/catalog/by-path/{encoded}")))
        except DremioRequestError as err:
            if err.status == 404:
                return None
            raise

    def children(self, path: list[str]) -> dict[str, dict[str, Any]] | None:
        """Name -> child entry of a folder (or source); None when the folder does not exist.

        Walks down from the source, so a folder that does not exist yet is found missing
        from its parent's children instead of through Dremio's internal error.
        """
        entity = self.catalog_by_path(path[:1])
        if entity is None:
            return None
        for depth in range(1, len(path) + 1):
            listed = {str(c["path"][-1]): c for c in entity.get("children", [])}
            if depth == len(path):
                return listed
            child = listed.get(path[depth])
            if child is None or child.get("type") != "CONTAINER":
                return None
            entity = self.catalog_by_path(path[: depth + 1]) or {}
        return None

    def ensure_source(self, source: dict[str, Any]) -> str:
        """Create the source, or update it in place when it exists; 'created'/'updated'."""
        existing = self.catalog_by_path([source["name"]])
        if existing is None:
            self._request("POST", "/api/v3/catalog", json=source, retry=False)
            return "created"
        body = {**source, "id": existing["id"], "tag": existing.get("tag")}
        self._request("PUT", f"/api/v3/catalog/{quote(existing['id'], safe='')}", json=body)
        return "updated"

    def promote_delta(self, path: list[str], siblings: dict[str, dict[str, Any]] | None) -> str:
        """Promote the folder at ``path`` as a Delta table: 'promoted', 'already' or 'missing'.

        ``siblings`` are the children of its parent folder (``children(path[:-1])``).
        Promotion reads the Delta log at once: a table Dremio cannot read fails here.
        """
        entry = (siblings or {}).get(path[-1])
        if entry is None:
            return "missing"
        if entry.get("type") == "DATASET":
            return "already"
        body = {
            "entityType": "dataset",
            "id": entry["id"],
            "path": path,
            "type": "PHYSICAL_DATASET",
            "format": {"type": "Delta"},
        }
        try:
            self._request(
                "POST", f"/api/v3/catalog/{quote(entry['id'], safe='')}", json=body, retry=False
            )
        except DremioRequestError as err:
            if "Deltalake format version" in str(err) or "Unsupported type" in str(err):
                raise DremioRequestError(
                    f"Dremio cannot read the Delta table {'.'.join(path)}: {err}",
                    err.status,
                    hint="Dremio OSS reads Delta reader version <= 2 only: no deletion "
                    "vectors, no TimestampNTZ, classic checkpoints",
                ) from None
            raise
        return "promoted"

    def refresh_metadata(self, path: list[str]) -> str:
        """Make new Delta commits visible now rather than at the next scheduled refresh."""
        result = self.sql(f"ALTER TABLE {quote_path(path)} REFRESH METADATA")
        return str(result.rows[0].get("summary", "")) if result.rows else ""

    # --- SQL ---------------------------------------------------------------------------
    def submit(self, sql: str, context: list[str] | None = None) -> str:
        body: dict[str, Any] = {"sql": sql}
        if context:
            body["context"] = context
        return str(self._request("POST", "/api/v3/sql", json=body).json()["id"])

    def wait_for_job(
        self, job_id: str, timeout: float = 300.0, poll: float = 0.5
    ) -> dict[str, Any]:
        def status() -> dict[str, Any]:
            return dict(self._request("GET", f"/api/v3/job/{job_id}").json())

        try:
            final = tenacity.Retrying(
                retry=tenacity.retry_if_result(
                    lambda s: str(s.get("jobState")) not in FINAL_JOB_STATES
                ),
                wait=tenacity.wait_exponential(multiplier=poll, min=poll, max=5.0),
                stop=tenacity.stop_after_delay(timeout),
                sleep=self._sleep,
            )(status)
        except tenacity.RetryError as err:
            last = err.last_attempt.result()
            raise DremioTimeout(
                f"Dremio job {job_id} still {last.get('jobState')} after {timeout:.0f}s"
            ) from None
        state = str(final.get("jobState"))
        if state != "COMPLETED":
            message = final.get("errorMessage") or final.get("cancellationReason") or ""
            if state == "INVALID_STATE":
                message = message or "Dremio cannot say what state the job is in"
            raise DremioJobFailed(job_id, state, str(message))
        return final

    def results(self, job_id: str, page_size: int = RESULTS_PAGE_LIMIT) -> QueryResult:
        """All rows of a completed job, fetched in pages of at most 500 rows."""
        if not 0 < page_size <= RESULTS_PAGE_LIMIT:
            raise ValueError(f"page_size must be 1..{RESULTS_PAGE_LIMIT}, got {page_size}")
        rows: list[dict[str, Any]] = []
        schema: list[dict[str, Any]] = []
        total = None
        while total is None or len(rows) < total:
            page = self._json(
                self._request(
                    "GET",
                    f"/api/v3/job/{job_id}/results",
                    params={"offset": len(rows), "limit": page_size},
                )
            )
            total = int(page.get("rowCount", 0))
            schema = page.get("schema") or schema
            batch = page.get("rows") or []
            if not batch:
                break
            rows += batch
        columns = [c["name"] for c in schema]
        return QueryResult(job_id, columns, rows, total or 0, schema)

    def sql(
        self, sql: str, timeout: float = 300.0, context: list[str] | None = None
    ) -> QueryResult:
        job_id = self.submit(sql, context)
        self.wait_for_job(job_id, timeout)
        return self.results(job_id)
