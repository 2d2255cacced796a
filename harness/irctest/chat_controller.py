"""irctest controller for our chat server's IRC listener.

irctest imports this module by name (``--controller chat_controller``, with
this folder on PYTHONPATH) and calls ``run`` once per test, so every test
meets a fresh ``chat-server`` with no rooms and nobody connected.

The binary is ``$CHAT_BIN_DIR/chat-server``, the folder ``make build`` fills
(the Makefile exports CHAT_BIN_DIR, as it does for the e2e suite).

What the server has that irctest needs set up:

- SASL PLAIN against the users file: ``registerUser`` makes the account
  with ``chat-server useradd`` (the server reads the file again at the next
  login), so irctest's account tests log in as its own accounts do;
- an IRC operator: every server starts with the account ``operuser``
  (password ``operpassword``, irctest's defaults) listed in ``-opers``;
- a server password (``-irc-password``) when a test asks for one; guests
  are still allowed, as irctest's clients have no accounts.

What the server does not have, declared so that irctest skips those tests
instead of failing them:

- no STS;
- no faketime: a Go binary reads the clock without libc, so libfaketime
  cannot move it; ``faketime_enabled`` stays False and the tests that need
  it skip themselves.
"""

import ctypes
import os
from pathlib import Path
import signal
import subprocess
import time
from typing import Optional, Type

from irctest.basecontrollers import (
    BaseServerController,
    DirectoryBasedController,
    ProcessStopped,
)

# The line chat-server prints on standard output once its IRC listener is
# bound (server/cmd/chat-server/main.go lists its start-up lines). A TLS
# listener prints "IRC TLS listening on" instead.
IRC_READY = "chat-server: IRC listening on "
IRC_TLS_READY = "chat-server: IRC TLS listening on "

# How long a start may take before the test is failed with the server's log.
START_TIMEOUT = 30.0

# irctest's default operator credentials (irctest/basecontrollers.py).
OPER_NAME, OPER_PASSWORD = "operuser", "operpassword"

# The users-file line of the operator account, hashed once per run: argon2
# is deliberately slow, and every test starts a server.
_oper_line: Optional[str] = None


def oper_line(server: Path, scratch: Path) -> str:
    global _oper_line
    if _oper_line is None:
        path = scratch / "oper.db"
        path.touch(mode=0o600)
        add_user(server, path, OPER_NAME, OPER_PASSWORD)
        _oper_line = path.read_text()
    return _oper_line


def add_user(server: Path, users: Path, name: str, password: str) -> None:
    """Adds an account with chat-server useradd, which takes the password
    as one line of standard input when that is not a terminal."""
    subprocess.run(
        [server, "useradd", "-users", users, name],
        input=password + "\n",
        text=True,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def die_with_parent() -> None:
    """Runs in the child before exec: the server gets a SIGTERM when pytest
    exits. irctest calls kill() from tearDown, which pytest skips when a
    test's setUp fails or skips after the server started (some tests check
    ISUPPORT there); without this, such servers outlive the run."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def chat_server_path() -> Path:
    bin_dir = os.environ.get("CHAT_BIN_DIR")
    if not bin_dir:
        raise RuntimeError(
            "CHAT_BIN_DIR is not set: run through `make irctest`, or set it "
            "to the folder holding chat-server (`make build` fills bin/)"
        )
    path = Path(bin_dir) / "chat-server"
    if not path.is_file():
        raise RuntimeError(f"{path} does not exist: run `make build` first")
    return path


class ChatServerController(BaseServerController, DirectoryBasedController):
    software_name = "chat-server"
    supported_sasl_mechanisms = {"PLAIN"}
    supports_sts = False

    def registerUser(self, case, username: str, password: Optional[str] = None) -> None:
        assert password, "accounts here have passwords"
        add_user(chat_server_path(), self.users, username, password)

    def run(
        self,
        hostname: str,
        port: int,
        *,
        password: Optional[str],
        ssl: bool,
        run_services: bool,
        faketime: Optional[str],
    ) -> None:
        assert self.proc is None
        self.hostname = hostname
        self.port = port
        self.create_config()  # a fresh temporary directory in self.directory
        assert self.directory
        server = chat_server_path()

        # A users file holding only the operator: irctest's clients come in
        # as guests. The server warns about a users file others may read,
        # so make it 0600.
        users = self.directory / "users.db"
        users.touch(mode=0o600)
        users.write_text(oper_line(server, self.directory))
        self.users = users

        irc_addr = f"{hostname}:{port}"
        args = [
            server,
            "-users", users,
            # The chat protocol's own listener is not tested: any free port.
            "-addr", "127.0.0.1:0",
            "-irc-name", "My.Little.Server",
            "-opers", OPER_NAME,
            "-guests",
            # irctest's clients send faster than people do, and log in more
            # often than the throttle allows: no limits.
            "-msg-rate", "-1",
            "-login-delay", "-1s",
            "-max-refused", "1000000",
            # Each test ends with a SIGTERM; nothing needs flushing for long.
            "-shutdown-timeout", "200ms",
        ]
        if password is not None:
            args += ["-irc-password", password]
        if os.environ.get("CHAT_IRCTEST_STORE"):
            # The same tests against the server keeping messages in its
            # embedded store (make irctest-store).
            args += ["-state", self.directory / "state"]

        ready = IRC_READY
        if ssl:
            # Never asked for by the server tests today; the server's own
            # cert subcommand makes a self-signed pair for the run.
            cert, key = self.directory / "irc.crt", self.directory / "irc.key"
            subprocess.run(
                [server, "cert", "-host", "localhost", "-cert", cert, "-key", key],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            args += ["-tls-cert", cert, "-tls-key", key, "-tls-addr", "",
                     "-irc-tls", irc_addr]
            ready = IRC_TLS_READY
        else:
            args += ["-irc", irc_addr]

        # Output goes to files in the temporary directory rather than pipes:
        # nobody has to keep draining a pipe for the server's lifetime, and
        # a server that does not start can be shown with its log.
        self.stdout_path = self.directory / "stdout.log"
        self.stderr_path = self.directory / "stderr.log"
        with self.stdout_path.open("w") as out, self.stderr_path.open("w") as err:
            self.proc = subprocess.Popen(
                args, stdout=out, stderr=err, preexec_fn=die_with_parent
            )
        self.wait_for_ready_line(ready)

    def wait_for_ready_line(self, ready: str) -> None:
        """Polls the server's standard output for the line saying its IRC
        listener is bound, with a deadline; then irctest's own port check
        (which connects and QUITs) is not needed."""
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if ready in self.stdout_path.read_text():
                self.port_open = True
                return
            try:
                self.check_is_alive()
            except ProcessStopped as e:
                raise ProcessStopped(f"chat-server {e}:\n{self.server_log()}")
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"chat-server printed no {ready.strip()!r} line within "
                    f"{START_TIMEOUT:.0f}s:\n{self.server_log()}"
                )
            time.sleep(0.02)

    def server_log(self) -> str:
        return self.stdout_path.read_text() + self.stderr_path.read_text()


def get_irctest_controller_class() -> Type[ChatServerController]:
    return ChatServerController
