"""Reaching the cluster's ingress hosts from the workstation (dremio.localhost and friends)."""

from __future__ import annotations

import socket
from urllib.parse import urlparse

from lakehouse_core.errors import LakehouseError


class HostUnresolvable(LakehouseError):
    """An ingress host name of the stack does not resolve on this machine."""


def ensure_resolvable(url: str) -> str:
    """Fail early, with the fix, when an ingress host name does not resolve here."""
    host = urlparse(url).hostname or ""
    try:
        socket.getaddrinfo(host, None)
    except socket.gaierror:
        hint = (
            f"add `127.0.0.1 {host}` to /etc/hosts (kind maps the ingress to 127.0.0.1; many "
            "systems resolve *.localhost by themselves, this one does not)"
            if host.endswith(".localhost")
            else "check the host name in the stack configuration (lakehouse:ingress.hosts) and DNS"
        )
        raise HostUnresolvable(f"cannot resolve {host}", hint=hint) from None
    return url
