"""Arrow Flight queries against Dremio (port 32010, or through the ingress where allowed)."""

from __future__ import annotations

from typing import Any


def flight_query(endpoint: str, user: str, password: str, sql: str, timeout: float = 120.0) -> Any:
    """Run ``sql`` and return a pyarrow Table. ``endpoint``: grpc+tcp://host:port (or grpc+tls)."""
    from pyarrow import flight

    client = flight.FlightClient(endpoint)
    try:
        token = client.authenticate_basic_token(user, password)
        options = flight.FlightCallOptions(headers=[token], timeout=timeout)
        info = client.get_flight_info(flight.FlightDescriptor.for_command(sql), options)
        return client.do_get(info.endpoints[0].ticket, options).read_all()
    finally:
        client.close()
