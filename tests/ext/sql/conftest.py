"""Real database servers for the SQL patcher tests: PostgreSQL and MariaDB from Debian's packages.

Each is started once per session in a temporary directory, on a free loopback port, and
stopped afterwards. When the server binaries are missing the tests that need them skip
with the reason (CI installs them: ``.ci/run``).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

DB_USER = "fluoro"
DB_PASSWORD = "s3cr3t:p@ss"
DB_NAME = "app"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_port(port: int, proc: subprocess.Popen, log: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("database server exited (%s): %s" % (proc.returncode, _tail(log)))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("database server did not listen on %d: %s" % (port, _tail(log)))


def _tail(path: str) -> str:
    try:
        with open(path, errors="replace") as f:
            return f.read()[-2000:]
    except OSError:
        return ""


def _as_service_user(cmd: list, user: str) -> list:
    """PostgreSQL refuses to run as root: run it as its own system user then."""
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", user, "--"] + cmd


def _server_preexec(user: str | None = None):  # type: ignore[no-untyped-def]
    """Run the server as ``user`` (when root) and stop it if the test process dies."""

    def preexec() -> None:
        import ctypes
        import signal

        if user is not None and os.geteuid() == 0:
            entry = pwd.getpwnam(user)
            os.setgid(entry.pw_gid)
            os.setuid(entry.pw_uid)
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG

    return preexec


@pytest.fixture(scope="session")
def postgres():  # type: ignore[no-untyped-def]
    """A fresh PostgreSQL cluster: dict with host, port, user, password, dbname, version."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        pytest.skip("PostgreSQL server binaries not installed (apt-get install postgresql)")
    bindir = os.path.dirname(bins[-1])
    owner = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    root = tempfile.mkdtemp(prefix="fluoro-pg-")
    data, log = os.path.join(root, "data"), os.path.join(root, "server.log")
    if os.geteuid() == 0:
        shutil.chown(root, user=owner)
    port = _free_port()
    subprocess.run(_as_service_user([os.path.join(bindir, "initdb"), "-D", data, "-U", DB_USER, "-A", "trust",
                                     "--no-sync", "-E", "UTF8"], owner),
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc = subprocess.Popen([os.path.join(bindir, "postgres"), "-D", data, "-p", str(port),
                             "-h", "127.0.0.1", "-k", root, "-F"],
                            stdout=open(log, "w"), stderr=subprocess.STDOUT, preexec_fn=_server_preexec(owner))
    try:
        _wait_for_port(port, proc, log)
        deadline = time.monotonic() + 30
        while subprocess.run([os.path.join(bindir, "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
                             stdout=subprocess.DEVNULL).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError("PostgreSQL not ready: " + _tail(log))
            time.sleep(0.2)
        subprocess.run([os.path.join(bindir, "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", DB_USER,
                        DB_NAME], check=True)
        yield {"host": "127.0.0.1", "port": port, "user": DB_USER, "password": DB_PASSWORD, "dbname": DB_NAME}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def mariadb():  # type: ignore[no-untyped-def]
    """A fresh MariaDB server: dict with host, port, user, password, dbname."""
    server = shutil.which("mariadbd") or shutil.which("mysqld") or (
        "/usr/sbin/mariadbd" if os.path.exists("/usr/sbin/mariadbd") else None)
    install = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
    if not server or not install:
        pytest.skip("MariaDB server binaries not installed (apt-get install mariadb-server)")
    root = tempfile.mkdtemp(prefix="fluoro-mariadb-")
    data, log = os.path.join(root, "data"), os.path.join(root, "server.log")
    sock = os.path.join(root, "mysqld.sock")
    user = pwd.getpwuid(os.geteuid()).pw_name
    subprocess.run([install, "--no-defaults", "--datadir=" + data, "--user=" + user,
                    "--auth-root-authentication-method=normal", "--skip-test-db"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port = _free_port()
    proc = subprocess.Popen([server, "--no-defaults", "--datadir=" + data, "--socket=" + sock, "--port=%d" % port,
                             "--bind-address=127.0.0.1", "--user=" + user, "--skip-grant-tables=0",
                             "--pid-file=" + os.path.join(root, "mysqld.pid"), "--log-error=" + log,
                             "--innodb-buffer-pool-size=16M", "--skip-log-bin"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_server_preexec())
    try:
        _wait_for_port(port, proc, log)
        import pymysql

        admin = pymysql.connect(unix_socket=sock, user="root")
        with admin.cursor() as cur:
            cur.execute("CREATE DATABASE %s" % DB_NAME)
            cur.execute("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'" % (DB_USER, DB_PASSWORD))
            cur.execute("GRANT ALL ON *.* TO '%s'@'%%'" % DB_USER)
        admin.commit()
        admin.close()
        yield {"host": "127.0.0.1", "port": port, "user": DB_USER, "password": DB_PASSWORD, "dbname": DB_NAME}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(root, ignore_errors=True)

from ..oracle import recorders  # noqa: E402,F401  (fixture for this directory)
