"""A real IMAP server for the reply and bounce tests: Debian's dovecot (package ``dovecot-imapd``),
started once per test process as an unprivileged process with its own configuration in a
temporary directory.

It listens on loopback: plain IMAP with STARTTLS on one port, IMAP over TLS on another, with a
self-signed certificate (clients trust it when ``SSL_CERT_FILE`` names ``server.certificate``).
Any user name logs in with :data:`PASSWORD`, and each user has its own Maildir, so every test
takes a fresh user (``imap_mailbox``) and sees only its own mail. Mail is delivered with IMAP
APPEND, as a mail server's delivery agent would put it in the folder.

Run as root, dovecot runs as the ``dovecot`` system user the package creates; otherwise as the
user running the tests.
"""

from __future__ import annotations

import grp
import imaplib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.outreach.smtp_support import make_certificate
from tests.test_serve import free_port

DOVECOT = "/usr/sbin/dovecot"
PASSWORD = "imap-test-password"
START_SECONDS = 15.0
_users = itertools.count(1)


@dataclass(frozen=True)
class ImapServer:
    """A running dovecot: where it listens and the certificate its TLS ports present."""

    host: str
    port: int  # plain, STARTTLS offered
    tls_port: int  # TLS from the first byte
    certificate: Path
    log: Path

    def client(self, user: str) -> imaplib.IMAP4:
        """A logged-in plain connection as ``user``."""
        client = imaplib.IMAP4(self.host, self.port, timeout=10)
        client.login(user, PASSWORD)
        return client


@dataclass(frozen=True)
class ImapMailbox:
    """One test's own mailbox on the server."""

    server: ImapServer
    user: str

    def deliver(self, raw: bytes, folder: str = "INBOX") -> int:
        """Put ``raw`` into ``folder`` (created if missing); its UID."""
        client = self.server.client(self.user)
        try:
            if folder != "INBOX":
                client.create(f'"{folder}"')
            status, data = client.append(f'"{folder}"', None, None, raw)
            assert status == "OK", data
            said = data[0].decode() if data and isinstance(data[0], bytes) else ""
            # "[APPENDUID <uidvalidity> <uid>] Append completed."
            return int(said.split("]")[0].split()[-1])
        finally:
            client.logout()

    def uidvalidity(self, folder: str = "INBOX") -> int:
        client = self.server.client(self.user)
        try:
            client.select(f'"{folder}"', readonly=True)
            _name, values = client.response("UIDVALIDITY")
            return int(values[0])
        finally:
            client.logout()

    def flags(self, folder: str = "INBOX") -> list[bytes]:
        """Every message's FLAGS response, in order (to check nothing was marked or moved)."""
        client = self.server.client(self.user)
        try:
            client.select(f'"{folder}"', readonly=True)
            status, data = client.fetch("1:*", "(FLAGS)")
            return [item for item in data if isinstance(item, bytes)] if status == "OK" else []
        finally:
            client.logout()

    def count(self, folder: str = "INBOX") -> int:
        client = self.server.client(self.user)
        try:
            status, data = client.select(f'"{folder}"', readonly=True)
            return int(data[0]) if status == "OK" and data and data[0] else 0
        finally:
            client.logout()


def _account() -> tuple[str, str, int, int]:
    """The user and group dovecot runs as, with their ids."""
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("dovecot")
        except KeyError:
            pytest.fail("the dovecot system user is missing: apt-get install -y dovecot-imapd")
        return user.pw_name, grp.getgrgid(user.pw_gid).gr_name, user.pw_uid, user.pw_gid
    user = pwd.getpwuid(os.getuid())
    return user.pw_name, grp.getgrgid(os.getgid()).gr_name, os.getuid(), os.getgid()


def _config(root: Path, port: int, tls_port: int, certificate: Path, key: Path) -> str:
    user, group, uid, gid = _account()
    return f"""
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
instance_name = leadwell-test-{port}
log_path = {root}/dovecot.log
ssl = yes
ssl_cert = <{certificate}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
first_valid_uid = {uid}
first_valid_gid = {gid}
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = static
  args = password={PASSWORD}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
  chroot =
}}
service anvil {{
  chroot =
  # No auth penalty: after a test of a wrong password, every later login from loopback would wait.
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""


def _wait_until_ready(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            said = log.read_text() if log.exists() else ""
            pytest.fail(f"dovecot exited with {process.returncode}: {said[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
                if connection.recv(64).startswith(b"* OK"):
                    return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"dovecot did not answer on port {port} within {START_SECONDS:.0f}s")


def _owned(root: Path) -> None:
    """Hand the directory to the user dovecot runs as."""
    if os.geteuid() != 0:
        return
    _user, _group, uid, gid = _account()
    for path in [root, *root.rglob("*")]:
        os.chown(path, uid, gid)


@pytest.fixture(scope="session")
def imap_server() -> Iterator[ImapServer]:
    """dovecot on two free loopback ports for the whole test process."""
    if not Path(DOVECOT).exists():
        pytest.fail(f"{DOVECOT} is missing: apt-get install -y dovecot-imapd (see SYSTEM_PACKAGES)")
    root = Path(tempfile.mkdtemp(prefix="leadwell-dovecot-"))
    root.chmod(0o755)
    try:
        certificate, key = make_certificate(root)
        port, tls_port = free_port(), free_port()
        config = root / "dovecot.conf"
        config.write_text(_config(root, port, tls_port, certificate, key))
        for name in ("run", "state", "mail", "home"):
            (root / name).mkdir()
        _owned(root)
        user, group, _uid, _gid = _account()
        root_user = os.geteuid() == 0
        process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            user=user if root_user else None,
            group=group if root_user else None,
        )
        try:
            _wait_until_ready(process, port, root / "dovecot.log")
            yield ImapServer("127.0.0.1", port, tls_port, certificate, root / "dovecot.log")
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def imap_mailbox(imap_server: ImapServer) -> ImapMailbox:
    """A mailbox of this test's own on the shared dovecot."""
    return ImapMailbox(imap_server, f"replies{next(_users)}-{os.getpid()}@acme.example")
