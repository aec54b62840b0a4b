"""Arrow Flight as Dremio 25.2 serves it on port 32010 (auth mode ``arrow.flight.auth2``).

A call with ``authorization: Basic <user:password>`` is checked against the users and
answered with ``authorization: Bearer <token>`` (the same tokens the REST API issues); every
later call must carry the bearer token. A query is a FlightDescriptor command holding the
SQL text; its endpoint's ticket returns the rows (timestamps as ``timestamp[ms]``, no zone).
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

import pyarrow as pa
from pyarrow import flight

from lakehouse_dremio_double.catalog import ApiError
from lakehouse_dremio_double.rest import Api


class _Bearer(flight.ServerMiddleware):  # type: ignore[misc]
    def __init__(self, token: str | None) -> None:
        self.token = token

    def sending_headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"} if self.token else {}


class _Authenticator(flight.ServerMiddlewareFactory):  # type: ignore[misc]
    def __init__(self, api: Api) -> None:
        self.api = api

    def start_call(self, info: Any, headers: dict[str, list[str]]) -> _Bearer:
        values = headers.get("authorization") or headers.get("Authorization") or []
        if not values:
            raise flight.FlightUnauthenticatedError("Unauthenticated")
        scheme, _, value = values[0].partition(" ")
        if scheme.lower() == "basic":
            name, _, password = base64.b64decode(value).decode().partition(":")
            user = self.api.kv.user_by_name(name)
            if user is None or not user.password_is(password):
                raise flight.FlightUnauthenticatedError(
                    f"Unable to authenticate user {name}, exception: Login failed: Invalid "
                    f"username or password, user {name}"
                )
            return _Bearer(self.api.sessions.issue(name))
        if self.api.sessions.user_of(values[0]) is None:
            raise flight.FlightUnauthenticatedError("Unauthenticated")
        return _Bearer(None)


class _NoHandshakeCheck(flight.ServerAuthHandler):  # type: ignore[misc]
    """Lets the handshake through: the middleware checks every call, as auth2 does."""

    def authenticate(self, outgoing: Any, incoming: Any) -> None:
        pass

    def is_valid(self, token: bytes) -> str:
        return ""


class DoubleFlightServer(flight.FlightServerBase):  # type: ignore[misc]
    def __init__(self, api: Api, location: str) -> None:
        super().__init__(
            location,
            auth_handler=_NoHandshakeCheck(),
            middleware={"auth": _Authenticator(api)},
        )
        self.api = api
        self.results: dict[bytes, pa.Table] = {}

    def get_flight_info(
        self, context: Any, descriptor: flight.FlightDescriptor
    ) -> flight.FlightInfo:
        if descriptor.descriptor_type != flight.DescriptorType.CMD:
            raise flight.FlightUnavailableError("FlightDescriptor type Path is unimplemented.")
        try:
            table = self.api.run_now(descriptor.command.decode(), "FLIGHT")
        except ApiError as err:
            raise flight.FlightServerError(err.message) from None
        ticket = secrets.token_bytes(16)
        self.results[ticket] = table
        endpoint = flight.FlightEndpoint(ticket, [])
        return flight.FlightInfo(table.schema, descriptor, [endpoint], table.num_rows, -1)

    def do_get(self, context: Any, ticket: flight.Ticket) -> flight.RecordBatchStream:
        table = self.results.pop(ticket.ticket, None)
        if table is None:
            raise flight.FlightServerError("unknown ticket")
        return flight.RecordBatchStream(table)
