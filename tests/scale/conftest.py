"""Servers the scale-out tests run against, started by the tests themselves on 127.0.0.1:

- an S3 API (moto's server mode) with a fresh bucket per test module;
- a PostgreSQL cluster (Debian's `postgresql` package, `initdb` into a temporary directory).

A server that cannot start skips its tests with the reason; nothing here needs network.
"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# What deltalake, pyarrow.fs and boto3 read to reach the local S3 API. Production sets the
# same variables from a secret (docs/deploy.md), minus ALLOW_HTTP and the endpoint.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    # Commits are `PUT _delta_log/<version>.json` with `If-None-Match: *` (deltalake 1.x's
    # default for S3): a second writer of the same version gets 412 and retries on top.
    # Set explicitly so the tests fail if the default ever changes. See docs/deploy.md.
    "AWS_CONDITIONAL_PUT": "etag",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class S3:
    endpoint: str
    bucket: str
    env: dict[str, str]
    log: Path  # the server's request log: one line per request, with its status

    def rejected_puts(self, prefix: str) -> list[str]:
        """PUTs under `prefix` the server refused with 412 Precondition Failed."""
        marker = f"PUT /{self.bucket}/{prefix}"
        return [
            line
            for line in self.log.read_text(errors="replace").splitlines()
            if marker in line and '" 412 ' in line
        ]

    def uri(self, prefix: str) -> str:
        return f"s3://{self.bucket}/{prefix}"

    def keys(self, prefix: str) -> list[str]:
        return [o["Key"] for o in self.objects(prefix)]

    def objects(self, prefix: str) -> list[dict]:
        import boto3

        client = boto3.client("s3", endpoint_url=self.endpoint, **_boto_credentials())
        paginator = client.get_paginator("list_objects_v2")
        return [
            obj
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix)
            for obj in page.get("Contents", [])
        ]


def _boto_credentials() -> dict[str, str]:
    return {
        "aws_access_key_id": FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "region_name": FAKE_CREDENTIALS["AWS_REGION"],
    }


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """moto's S3 API (`moto_server`) in its own process, on a free loopback port.

    Not moto's ThreadedMotoServer: a server thread inside the test process needs the GIL
    to answer, and some deltalake calls wait on S3 while holding it (the first run hung on
    a `_delta_log` listing until the 180 s client timeout).
    """
    if importlib.util.find_spec("moto") is None or importlib.util.find_spec("flask") is None:
        pytest.skip("moto's server mode is not installed (moto[s3], flask); `make test` has it")
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "server.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            if server.poll() is not None:
                pytest.skip(
                    f"moto S3 server exited ({server.returncode}): {log.read_text()[-800:]}"
                )
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if time.monotonic() > deadline:
                pytest.skip(f"moto S3 server did not listen on 127.0.0.1:{port} within 30 s")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", log
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="module")
def s3(s3_endpoint: tuple[str, Path]) -> Iterator[S3]:
    """A new bucket, and AWS_* variables pointing every S3 client of this process at it.

    Module-scoped (the whole-pipeline build is shared by a module's tests), so it sets the
    variables with a MonkeyPatch of its own and restores them when the module ends.
    """
    import boto3

    endpoint, log = s3_endpoint
    bucket = f"lake-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=endpoint, **_boto_credentials()).create_bucket(Bucket=bucket)
    env = {
        **FAKE_CREDENTIALS,
        "AWS_ENDPOINT_URL": endpoint,  # deltalake, pyarrow.fs and boto3 all read this
        "AWS_ALLOW_HTTP": "true",  # deltalake: the local server speaks plain http
    }
    with pytest.MonkeyPatch.context() as patch:
        for key in [k for k in os.environ if k.startswith("AWS_")]:
            patch.delenv(key)  # a developer's own profile or keys must not leak in
        for key, value in env.items():
            patch.setenv(key, value)
        yield S3(endpoint=endpoint, bucket=bucket, env=env, log=log)


# --- PostgreSQL -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Postgres:
    host: str
    port: int
    user: str
    db_name: str


def _postgres_bin() -> Path | None:
    """The newest installed server's bin directory (Debian keeps them out of PATH)."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    if candidates:
        return Path(candidates[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _as_server_user(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as the `postgres` system user."""
    if os.geteuid() != 0:
        return argv
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.skip("running as root without `runuser` to start PostgreSQL as another user")
    try:
        import pwd

        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and there is no `postgres` user to run PostgreSQL as")
    return [runuser, "-u", "postgres", "--", *argv]


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A throwaway PostgreSQL cluster on a free loopback port, with a database `dagster`."""
    bin_dir = _postgres_bin()
    if bin_dir is None:
        pytest.skip(
            "PostgreSQL server binaries not found (Debian package `postgresql`; "
            "`make test` installs it with apt-get when it can)"
        )
    # Not under pytest's tmp_path: that is private to the test user, and the server runs
    # as `postgres` when the tests run as root.
    base = Path(tempfile.mkdtemp(prefix="lake-pg-"))
    data, log = base / "data", base / "server.log"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
        shutil.chown(data, "postgres", "postgres")
    port = free_port()
    user = "dagster"
    pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(data)]
    started = False

    def run(argv: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(
            _as_server_user(argv), cwd=base, capture_output=True, text=True, check=False
        )

    try:
        # Trust on loopback only, for a cluster that lives as long as the test session.
        init = run(
            [str(bin_dir / "initdb"), "-D", str(data), "-U", user, "--auth=trust", "--no-sync"]
        )
        if init.returncode != 0:
            pytest.skip(f"initdb failed: {init.stderr.strip()[-500:]}")
        options = (
            f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        start = run([*pg_ctl, "-l", str(log), "-o", options, "-w", "-t", "60", "start"])
        if start.returncode != 0:
            detail = log.read_text(errors="replace")[-800:] if log.exists() else start.stderr
            pytest.skip(f"PostgreSQL did not start on 127.0.0.1:{port}: {detail.strip()}")
        started = True
        import psycopg2

        connection = psycopg2.connect(host="127.0.0.1", port=port, user=user, dbname="postgres")
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("CREATE DATABASE dagster")
        connection.close()
        yield Postgres(host="127.0.0.1", port=port, user=user, db_name="dagster")
    finally:
        if started:
            run([*pg_ctl, "-m", "fast", "stop"])
        with contextlib.suppress(OSError):
            shutil.rmtree(base)
