"""A local Arrow Flight server with Dremio's authentication: basic credentials, bearer token.

The client calls ``authenticate_basic_token`` (a Handshake with ``authorization: Basic``),
receives ``authorization: Bearer <token>`` and must send it on every later call, which is
how Dremio's Flight endpoint (port 32010) behaves.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

import pyarrow as pa
from pyarrow import flight


class _BearerMiddleware(flight.ServerMiddleware):  # type: ignore[misc]
    def __init__(self, token: str) -> None:
        self.token = token

    def sending_headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


class _AuthFactory(flight.ServerMiddlewareFactory):  # type: ignore[misc]
    def __init__(self, users: dict[str, str]) -> None:
        self.users = users
        self.tokens: set[str] = set()

    def start_call(self, info: Any, headers: dict[str, list[str]]) -> _BearerMiddleware | None:
        values = headers.get("authorization") or headers.get("Authorization") or []
        if not values:
            raise flight.FlightUnauthenticatedError("no credentials")
        scheme, _, value = values[0].partition(" ")
        if scheme == "Basic":
            user, _, password = base64.b64decode(value).decode().partition(":")
            if self.users.get(user) != password:
                raise flight.FlightUnauthenticatedError("invalid user name or password")
            token = secrets.token_hex(8)
            self.tokens.add(token)
            return _BearerMiddleware(token)
        if scheme == "Bearer" and value in self.tokens:
            return None
        raise flight.FlightUnauthenticatedError("invalid token")


class _HandshakeAllowed(flight.ServerAuthHandler):  # type: ignore[misc]
    """Lets the Handshake through; the middleware above does the checking."""

    def authenticate(self, outgoing: Any, incoming: Any) -> None:
        pass

    def is_valid(self, token: bytes) -> str:
        return ""


class FakeDremioFlight(flight.FlightServerBase):  # type: ignore[misc]
    def __init__(self, users: dict[str, str], tables: dict[str, pa.Table]) -> None:
        self.auth = _AuthFactory(users)
        super().__init__(
            "grpc+tcp://127.0.0.1:0",
            auth_handler=_HandshakeAllowed(),
            middleware={"auth": self.auth},
        )
        self.tables = tables

    def get_flight_info(
        self, context: Any, descriptor: flight.FlightDescriptor
    ) -> flight.FlightInfo:
        sql = descriptor.command.decode()
        if sql not in self.tables:
            raise flight.FlightServerError(f"Table '{sql}' not found")
        table = self.tables[sql]
        endpoint = flight.FlightEndpoint(sql.encode(), [])
        return flight.FlightInfo(table.schema, descriptor, [endpoint], table.num_rows, -1)

    def do_get(self, context: Any, ticket: flight.Ticket) -> flight.RecordBatchStream:
        return flight.RecordBatchStream(self.tables[ticket.ticket.decode()])
