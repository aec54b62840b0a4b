"""A client for Dremio OSS's documented REST API (v2 bootstrap and login, v3 catalog and SQL).

Used by the in-cluster bootstrap Job and by the CLI. Every call has a timeout; calls that
are safe to repeat are retried with exponential backoff while Dremio is starting (refused
connections, 502/503/504), and every failure surfaces as a ``DremioError`` whose message
says what happened and, where it can, what to do.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from lakehouse_core.errors import LakehouseError

log = logging.getLogger(__name__)

RESULTS_PAGE_LIMIT = 500  # Dremio refuses larger pages
TERMINAL_JOB_STATES = ("COMPLETED", "FAILED", "CANCELED")
RETRYABLE_STATUS = (502, 503, 504)


class DremioError(LakehouseError):
    """Base class: something Dremio did or did not do."""


class DremioUnavailable(DremioError):
    """Dremio did not answer (or only with 5xx) within the retries."""


class DremioAuthError(DremioError):
    """Wrong user name or password, or an expired token."""


class DremioRequestError(DremioError):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
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

    def delays(self) -> Iterator[float]:
        delay = self.initial_delay
        for _ in range(self.attempts - 1):
            yield delay
            delay = min(delay * 2, self.max_delay)


@dataclass
class QueryResult:
    job_id: str
    columns: list[str]
    rows: list[dict[str, Any]]
    row_count: int
    schema: list[dict[str, Any]] = field(default_factory=list)


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

    def _request(
        self, method: str, path: str, *, retry: bool = True, **kwargs: Any
    ) -> httpx.Response:
        delays = self.retry.delays() if retry else iter(())
        while True:
            try:
                response = self._http.request(method, path, headers=self._headers(), **kwargs)
            except httpx.TimeoutException as err:
                failure: str = f"timed out ({err.__class__.__name__})"
                exc: Exception | None = err
            except httpx.TransportError as err:
                failure, exc = f"could not connect ({err})", err
            else:
                if response.status_code not in RETRYABLE_STATUS:
                    return self._checked(method, path, response)
                failure, exc = f"answered {response.status_code} {_error_message(response)}", None
            delay = next(delays, None)
            if delay is None:
                raise DremioUnavailable(
                    f"Dremio at {self.base_url} {failure} on {method} {path}; is it running and "
                    "reachable (kubectl -n lakehouse-dremio get pods)?"
                ) from exc
            log.info("Dremio %s; retrying %s %s in %.1fs", failure, method, path, delay)
            self._sleep(delay)

    def _checked(self, method: str, path: str, response: httpx.Response) -> httpx.Response:
        if response.status_code == 401:
            raise DremioAuthError(
                f"Dremio refused the credentials ({_error_message(response)}); check the user "
                "and password (the dremio-admin Secret holds the deployed ones)"
            )
        if response.status_code >= 400:
            raise DremioRequestError(
                f"{method} {path} failed with {response.status_code}: {_error_message(response)}",
                response.status_code,
            )
        return response

    # --- server and users --------------------------------------------------------------
    def server_status(self) -> str:
        return str(self._request("GET", "/apiv2/server_status", retry=False).json())

    def wait_until_ready(self, timeout: float = 600.0, poll: float = 5.0) -> None:
        """Block until Dremio reports OK; refused connections and 503 mean 'still starting'."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            try:
                status = self.server_status()
                if status.strip('"') == "OK":
                    return
                last = status
            except (DremioUnavailable, DremioRequestError) as err:
                last = str(err)
            except (httpx.TransportError, httpx.TimeoutException) as err:
                last = str(err)
            self._sleep(poll)
        raise DremioTimeout(f"Dremio at {self.base_url} was not ready after {timeout:.0f}s: {last}")

    def create_first_user(self, user: str, password: str, email: str) -> bool:
        """Create the admin on a fresh install; False when a user already exists."""
        body = {
            "userName": user,
            "firstName": "Lakehouse",
            "lastName": "Admin",
            "email": email,
            "createdAt": int(time.time() * 1000),
            "password": password,
        }
        try:
            self._request("PUT", "/apiv2/bootstrap/firstuser", json=body)
        except DremioRequestError as err:
            if err.status in (400, 403, 409) and "already" in str(err).lower():
                return False
            raise
        return True

    def login(self, user: str, password: str) -> None:
        response = self._request(
            "POST", "/apiv2/login", json={"userName": user, "password": password}
        )
        token = response.json().get("token")
        if not token:
            raise DremioAuthError("Dremio's login answer carried no token")
        self._token = str(token)

    # --- catalog -----------------------------------------------------------------------
    def catalog_by_path(self, path: list[str]) -> dict[str, Any] | None:
        encoded = "/".join(quote(p, safe="") for p in path)
        try:
            return dict(self._request("GET", f"/api/v3/catalog/by-path/{encoded}").json())
        except DremioRequestError as err:
            if err.status == 404:
                return None
            raise

    def ensure_source(self, source: dict[str, Any]) -> str:
        """Create the source, or update it in place when it exists; returns 'created'/'updated'."""
        existing = self.catalog_by_path([source["name"]])
        if existing is None:
            self._request("POST", "/api/v3/catalog", json=source, retry=False)
            return "created"
        body = {**source, "id": existing["id"], "tag": existing.get("tag")}
        self._request("PUT", f"/api/v3/catalog/{quote(existing['id'], safe='')}", json=body)
        return "updated"

    def promote_delta(self, path: list[str]) -> str:
        """Promote a folder holding a Delta table; 'promoted', 'already' or 'missing'."""
        entity = self.catalog_by_path(path)
        if entity is None:
            return "missing"
        if entity.get("entityType") == "dataset":
            return "already"
        body = {
            "entityType": "dataset",
            "id": entity["id"],
            "path": path,
            "type": "PHYSICAL_DATASET",
            "format": {"type": "Delta"},
        }
        self._request(
            "POST", f"/api/v3/catalog/{quote(entity['id'], safe='')}", json=body, retry=False
        )
        return "promoted"

    def refresh_metadata(self, path: list[str]) -> None:
        """Make new Delta commits visible now rather than at the next scheduled refresh."""
        self.sql(f"ALTER TABLE {quote_path(path)} REFRESH METADATA")

    # --- SQL ---------------------------------------------------------------------------
    def submit(self, sql: str, context: list[str] | None = None) -> str:
        body: dict[str, Any] = {"sql": sql}
        if context:
            body["context"] = context
        return str(self._request("POST", "/api/v3/sql", json=body).json()["id"])

    def wait_for_job(
        self, job_id: str, timeout: float = 300.0, poll: float = 0.5
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            status = dict(self._request("GET", f"/api/v3/job/{job_id}").json())
            state = str(status.get("jobState"))
            if state == "COMPLETED":
                return status
            if state in TERMINAL_JOB_STATES:
                message = status.get("errorMessage") or status.get("cancellationReason") or ""
                raise DremioJobFailed(job_id, state, str(message))
            if time.monotonic() >= deadline:
                raise DremioTimeout(f"Dremio job {job_id} still {state} after {timeout:.0f}s")
            self._sleep(poll)
            poll = min(poll * 1.5, 5.0)

    def results(self, job_id: str, page_size: int = RESULTS_PAGE_LIMIT) -> QueryResult:
        """All rows of a completed job, fetched in pages of at most 500 rows."""
        if not 0 < page_size <= RESULTS_PAGE_LIMIT:
            raise ValueError(f"page_size must be 1..{RESULTS_PAGE_LIMIT}, got {page_size}")
        rows: list[dict[str, Any]] = []
        schema: list[dict[str, Any]] = []
        total = None
        while total is None or len(rows) < total:
            page = self._request(
                "GET",
                f"/api/v3/job/{job_id}/results",
                params={"offset": len(rows), "limit": page_size},
            ).json()
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
