"""Where the bootstrap Job keeps the admin password it last applied to Dremio.

Changing a Dremio user's password takes a login, and after a rotation only the old
password logs in. The Job therefore records what it applied in a Secret of its own
(``dremio-admin-applied``, which its service account alone may read and update), through
the Kubernetes API with the pod's service-account token. Outside a cluster (tests, the
CLI) a plain in-memory store stands in.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Protocol

import httpx

SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
KEY = "password"


class AppliedPasswordStore(Protocol):
    def read(self) -> str | None: ...
    def write(self, password: str) -> None: ...


class MemoryStore:
    def __init__(self, password: str | None = None) -> None:
        self.password = password

    def read(self) -> str | None:
        return self.password

    def write(self, password: str) -> None:
        self.password = password


class SecretStore:
    """One key of one Secret in the pod's own namespace."""

    def __init__(self, name: str, account: Path = SERVICE_ACCOUNT) -> None:
        host = os.environ.get("KUBERNETES_SERVICE_HOST", "kubernetes.default.svc")
        port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        namespace = (account / "namespace").read_text().strip()
        self.url = f"https://{host}:{port}/api/v1/namespaces/{namespace}/secrets/{name}"
        self.account = account

    def _client(self) -> httpx.Client:
        token = (self.account / "token").read_text().strip()
        return httpx.Client(
            verify=str(self.account / "ca.crt"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )

    def read(self) -> str | None:
        with self._client() as client:
            response = client.get(self.url)
            response.raise_for_status()
            value = (response.json().get("data") or {}).get(KEY)
        return base64.b64decode(value).decode() if value else None

    def write(self, password: str) -> None:
        patch = {"data": {KEY: base64.b64encode(password.encode()).decode()}}
        with self._client() as client:
            response = client.patch(
                self.url,
                json=patch,
                headers={"Content-Type": "application/merge-patch+json"},
            )
            response.raise_for_status()
