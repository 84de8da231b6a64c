"""A real PostgreSQL server for the tests, started from Debian's ``postgresql`` package.

``initdb`` refuses to run as root, and CI runs as root: the server's folder then belongs to
the ``postgres`` user and every server command runs as that user (``runuser``). The server
listens on a free loopback port with password authentication (scram-sha-256) for its one
role, and is stopped when the test session ends. Outside CI a machine without the package
skips the database tests; on CI their absence fails (``.ci/run`` installs the package).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

USER = "custseg_test"
PASSWORD = "s3cret-Pa55"


@dataclass(frozen=True)
class Server:
    """A running server: its port and a URL without the password (PGPASSWORD holds it)."""

    port: int

    def url(self, database: str = "postgres", password: bool = False) -> str:
        secret = f":{PASSWORD}" if password else ""
        return f"postgresql://{USER}{secret}@127.0.0.1:{self.port}/{database}"


def _bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for version in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (version / name).is_file():
            return str(version / name)
    return None


def _as_postgres(args: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return args
    return ["runuser", "-u", "postgres", "--", *args]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server() -> Iterator[Server]:
    """Start a server in a fresh folder; yield it; stop it and remove the folder."""
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL (initdb, pg_ctl) is missing on CI")
        pytest.skip("PostgreSQL's initdb is not installed")
    home = Path(tempfile.mkdtemp(prefix="custseg-pg-"))
    data, sockets = home / "data", home / "sockets"
    sockets.mkdir()
    password_file = home / "password"
    password_file.write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        shutil.chown(home, "postgres")
        shutil.chown(sockets, "postgres")
        shutil.chown(password_file, "postgres")
    port = _port()
    run = {"check": True, "capture_output": True, "text": True}
    init = [initdb, "-D", str(data), "-U", USER, f"--pwfile={password_file}"]
    subprocess.run(
        _as_postgres([*init, "-A", "scram-sha-256", "--no-sync"]),
        **run,  # type: ignore[call-overload]
    )
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        _as_postgres(
            [pg_ctl, "-D", str(data), "-o", options, "-l", str(data / "log"), "-w", "start"]
        ),
        **run,  # type: ignore[call-overload]
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        yield Server(port)
    finally:
        subprocess.run(
            _as_postgres([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"]),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(home, ignore_errors=True)
