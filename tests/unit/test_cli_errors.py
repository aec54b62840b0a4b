"""Every failure a user can cause ends in one ``error:`` line with a hint, never a traceback.

The services here are the smallest stand-ins that answer as the real ones do when they
refuse (an S3 endpoint with S3's error XML, Dremio's 401 JSON) or nothing at all (a port
nobody listens on), all on 127.0.0.1.
"""

from __future__ import annotations

import functools
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from lakehouse.cli.app import app

runner = CliRunner()


def plain(output: str) -> str:
    return " ".join(output.translate({ord(c): " " for c in "│╭╮╰╯─"}).split())


def assert_one_error(result: Result, *fragments: str) -> str:
    """Exit 1, one ``error:`` line and a ``hint:``, the fragments named, no traceback."""
    text = plain(result.output)
    assert result.exit_code == 1, result.output
    assert result.output.count("error: ") == 1, result.output
    assert "hint: " in result.output, result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in text, text
    return text


def closed_port() -> int:
    """A port on 127.0.0.1 that nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Refusing(BaseHTTPRequestHandler):
    """Answers every request with a fixed status, content type and body."""

    status = 403
    content_type = "application/xml"
    body = b""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.send_response(self.status)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    do_GET = do_PUT = do_POST = do_HEAD = _answer  # noqa: N815 (http.server's method names)

    def log_message(self, *_args: object) -> None:
        pass


def serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def s3_refusing() -> Iterator[str]:
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidAccessKeyId</Code>'
        b"<Message>The Access Key Id you provided does not exist in our records.</Message>"
        b"</Error>"
    )
    yield from serve(type("S3Refusing", (Refusing,), {"status": 403, "body": body}))


@pytest.fixture
def dremio_refusing() -> Iterator[str]:
    body = json.dumps({"errorMessage": "Login failed: invalid username or password"}).encode()
    yield from serve(
        type(
            "DremioRefusing",
            (Refusing,),
            {"status": 401, "content_type": "application/json", "body": body},
        )
    )


@pytest.fixture
def no_kubeconfig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    missing = tmp_path / "no-such-kubeconfig"
    monkeypatch.setenv("KUBECONFIG", str(missing))
    return missing


@pytest.fixture
def unreachable_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A kubeconfig whose API server address nobody answers on."""
    config = tmp_path / "kubeconfig"
    server = f"https://127.0.0.1:{closed_port()}"
    config.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "gone", "cluster": {"server": server}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [
                    {"name": "kind-lakehouse", "context": {"cluster": "gone", "user": "u"}}
                ],
                "current-context": "kind-lakehouse",
            }
        )
    )
    monkeypatch.setenv("KUBECONFIG", str(config))
    return config


@pytest.fixture
def quick_dremio_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's Dremio client without the waits between its retries."""
    import lakehouse_dremio.client as client_module

    quick = functools.partial(client_module.DremioClient, sleep=lambda _s: None)
    monkeypatch.setattr(client_module, "DremioClient", quick)


def test_status_without_a_kubeconfig(no_kubeconfig: Path) -> None:
    result = runner.invoke(app, ["status", "--stack", "dev"])
    assert_one_error(result, "kubeconfig context kind-lakehouse")


def test_status_when_the_cluster_does_not_answer(unreachable_cluster: Path) -> None:
    result = runner.invoke(app, ["status", "--stack", "dev"])
    assert_one_error(result, "does not answer", "kind-lakehouse")


def test_query_without_a_kubeconfig_for_the_admin_password(no_kubeconfig: Path) -> None:
    result = runner.invoke(app, ["query", "SELECT 1", "--stack", "dev"])
    assert_one_error(result, "kubeconfig")


def test_query_when_dremio_does_not_answer(quick_dremio_retries: None) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    result = runner.invoke(
        app, ["query", "SELECT 1", "--dremio-url", url, "--user", "u", "--password", "p4ssword"]
    )
    assert_one_error(result, url)


def test_query_when_dremio_refuses_the_login(dremio_refusing: str) -> None:
    result = runner.invoke(
        app,
        ["query", "SELECT 1", "--dremio-url", dremio_refusing,
         "--user", "nobody-here", "--password", "bad-secret-1"],
    )  # fmt: skip
    assert_one_error(
        result, f"Dremio at {dremio_refusing} refused the login of user 'nobody-here'",
        "Login failed: invalid username or password",
    )  # fmt: skip
    assert "bad-secret-1" not in result.output


def test_landing_when_s3_does_not_answer(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    data = tmp_path / "users.json"
    data.write_text('{"id": 1}\n')
    result = runner.invoke(
        app,
        ["land", "users", str(data), "--endpoint", url, "--access-key", "a", "--secret-key", "b"],
    )
    assert_one_error(result, f"the S3 endpoint {url} does not answer")


def test_landing_when_s3_refuses_the_keys(s3_refusing: str, tmp_path: Path) -> None:
    data = tmp_path / "users.json"
    data.write_text('{"id": 1}\n')
    result = runner.invoke(
        app,
        ["land", "users", str(data), "--endpoint", s3_refusing,
         "--access-key", "nobody", "--secret-key", "wrong"],
    )  # fmt: skip
    assert_one_error(result, "refused access key 'nobody'", "InvalidAccessKeyId")
    assert "wrong" not in result.output  # the secret key never appears


def test_an_unknown_dataset_is_named_with_the_known_ones(tmp_path: Path) -> None:
    data = tmp_path / "x.csv"
    data.write_text("a\n1\n")
    result = runner.invoke(
        app, ["land", "nope", str(data), "--endpoint", "http://127.0.0.1:9", "--access-key", "a",
              "--secret-key", "b"],
    )  # fmt: skip
    text = plain(result.output)
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "nope" in text and "orders" in text


def test_debug_shows_where_it_happened(no_kubeconfig: Path) -> None:
    result = runner.invoke(app, ["--debug", "status", "--stack", "dev"])
    assert result.exit_code == 1
    assert "Traceback" in result.output and "error: " in result.output


def test_help_imports_neither_pulumi_nor_spark() -> None:
    """`lakehouse --help` stays instant: the heavy libraries load only in the commands."""
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from lakehouse.cli.app import app\n"
        "assert CliRunner().invoke(app, ['--help']).exit_code == 0\n"
        "heavy = sorted(m for m in ('pulumi', 'pyspark', 'kubernetes', 'boto3', 'pyarrow', "
        "'duckdb') if m in sys.modules)\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
