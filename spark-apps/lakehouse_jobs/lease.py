"""One writer of the lake at a time in the cluster: a Kubernetes Lease.

Delta on S3 is safe with one writer per table. Every pipeline run holds the Lease
``lakehouse-pipeline`` in the jobs namespace while it writes: ``lakehouse pipeline run``
takes it before it submits the first layer and keeps renewing it, and hands its identity
to the SparkApplications it creates (``LAKEHOUSE_LEASE_HOLDER``); a driver started any
other way (``kubectl apply``, the schedule) takes the Lease itself. A run that finds the
Lease held by someone else, and not expired, stops before it writes anything, saying who
holds it and since when.

Standard library only (the job image carries nothing else): the driver talks to the API
server with its service account's token, as any in-cluster client does.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from lakehouse_core.errors import LakehouseError
from lakehouse_core.names import LEASE_HOLDER_ENV

HOLDER_ENV = LEASE_HOLDER_ENV
log = logging.getLogger(__name__)
DEFAULT_DURATION = 60  # seconds a holder that stopped renewing keeps the Lease
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


class LeaseBusy(LakehouseError):
    """Another run holds the Lease."""


class Conflict(Exception):
    """The Lease changed between our read and our write (someone else took it)."""


class LeaseApi(Protocol):
    """get/create/replace of one Lease object (its JSON as a dict); None when absent."""

    def get(self, namespace: str, name: str) -> dict[str, Any] | None: ...
    def create(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]: ...
    def replace(self, namespace: str, name: str, body: dict[str, Any]) -> dict[str, Any]: ...


def _micro_time(moment: float) -> str:
    return dt.datetime.fromtimestamp(moment, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_time(text: str | None) -> float:
    if not text:
        return 0.0
    return dt.datetime.strptime(text.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


@dataclass(frozen=True)
class Holding:
    holder: str
    acquired: float
    renewed: float
    duration: int

    def expired(self, now: float) -> bool:
        return now > self.renewed + self.duration


def holding_of(lease: dict[str, Any]) -> Holding | None:
    spec = lease.get("spec") or {}
    holder = spec.get("holderIdentity")
    if not holder:
        return None
    return Holding(
        holder=str(holder),
        acquired=_parse_time(spec.get("acquireTime")),
        renewed=_parse_time(spec.get("renewTime") or spec.get("acquireTime")),
        duration=int(spec.get("leaseDurationSeconds") or DEFAULT_DURATION),
    )


class Lease:
    """Acquire, renew (in the background) and release one Lease for ``identity``."""

    def __init__(
        self,
        api: LeaseApi,
        namespace: str,
        name: str,
        identity: str,
        *,
        duration: int = DEFAULT_DURATION,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.api, self.namespace, self.name = api, namespace, name
        self.identity, self.duration, self.clock = identity, duration, clock
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def _body(self, current: dict[str, Any] | None, acquired: float) -> dict[str, Any]:
        now = self.clock()
        metadata: dict[str, Any] = {"name": self.name, "namespace": self.namespace}
        if current is not None:
            metadata["resourceVersion"] = current["metadata"]["resourceVersion"]
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": metadata,
            "spec": {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": self.duration,
                "acquireTime": _micro_time(acquired),
                "renewTime": _micro_time(now),
            },
        }

    def acquire(self) -> None:
        """Take the Lease, or raise LeaseBusy naming who holds it."""
        current = self.api.get(self.namespace, self.name)
        if current is None:
            try:
                self.api.create(self.namespace, self._body(None, self.clock()))
                return
            except Conflict:
                current = self.api.get(self.namespace, self.name)
                assert current is not None
        holding = holding_of(current)
        if holding is not None and holding.holder == self.identity:
            self.api.replace(self.namespace, self.name, self._body(current, holding.acquired))
            return
        if holding is not None and not holding.expired(self.clock()):
            since = _micro_time(holding.acquired)
            raise LeaseBusy(
                f"another lakehouse run holds the lake: Lease {self.namespace}/{self.name} is "
                f"held by {holding.holder} since {since}",
                hint="wait for that run to finish (two writers of one Delta table are unsafe); "
                f"`kubectl -n {self.namespace} get lease {self.name} -o yaml` shows it, and a "
                f"holder that stopped renewing loses it {holding.duration}s after its last renewal",
            )
        try:
            self.api.replace(self.namespace, self.name, self._body(current, self.clock()))
        except Conflict:
            raise LeaseBusy(
                f"another run took Lease {self.namespace}/{self.name} at the same moment",
                hint="wait for it to finish, then run again",
            ) from None

    def renew(self) -> None:
        current = self.api.get(self.namespace, self.name)
        holding = holding_of(current) if current is not None else None
        if current is None or holding is None or holding.holder != self.identity:
            raise LeaseBusy(f"this run ({self.identity}) lost Lease {self.namespace}/{self.name}")
        self.api.replace(self.namespace, self.name, self._body(current, holding.acquired))

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=5)
        current = self.api.get(self.namespace, self.name)
        holding = holding_of(current) if current is not None else None
        if current is not None and holding is not None and holding.holder == self.identity:
            body = self._body(current, holding.acquired)
            body["spec"] = {"leaseDurationSeconds": self.duration}  # no holder: free
            with contextlib.suppress(Conflict):  # taken over meanwhile: nothing to free
                self.api.replace(self.namespace, self.name, body)

    def keep_renewed(self) -> None:
        """Renew every third of the duration, in a daemon thread, until ``release``."""

        def loop() -> None:
            while not self._stop.wait(self.duration / 3):
                try:
                    self.renew()
                except Exception as err:  # a missed renewal is retried at the next tick
                    log.warning("renewing Lease %s/%s failed: %s", self.namespace, self.name, err)

        self._renewer = threading.Thread(target=loop, name="lease-renewer", daemon=True)
        self._renewer.start()

    def __enter__(self) -> Lease:
        self.acquire()
        self.keep_renewed()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()


class InClusterLeaseApi:
    """The Lease API through the pod's service account (urllib, no client library)."""

    def __init__(self, sa_dir: str = SA_DIR) -> None:
        host = os.environ["KUBERNETES_SERVICE_HOST"]
        port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        self.base = f"https://{host}:{port}/apis/coordination.k8s.io/v1/namespaces"
        with open(f"{sa_dir}/token", encoding="utf-8") as token:
            self.token = token.read().strip()
        self.context = ssl.create_default_context(cafile=f"{sa_dir}/ca.crt")

    def _call(self, method: str, url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 (https)
        request.add_header("Authorization", f"Bearer {self.token}")
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=30) as response:  # noqa: S310
                return dict(json.loads(response.read()))
        except urllib.error.HTTPError as err:
            if err.code == 409:
                raise Conflict(url) from None
            raise

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            return self._call("GET", f"{self.base}/{namespace}/leases/{name}")
        except urllib.error.HTTPError as err:
            if err.code == 404:
                return None
            raise

    def create(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", f"{self.base}/{namespace}/leases", body)

    def replace(self, namespace: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("PUT", f"{self.base}/{namespace}/leases/{name}", body)


def in_cluster() -> bool:
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and os.path.exists(f"{SA_DIR}/token")
