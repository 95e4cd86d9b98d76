"""The stage side of the preload server (pipeline/preload.py): hand `python -m pipeline.X ...` over.

`pipeline/__init__.py` calls `delegate()` when PIPELINE_PRELOAD names a server's socket (the
runner, `python -m pipeline.repro`, sets it for the stages it starts). This process then sends
its module, arguments, working directory, environment and standard streams (the descriptors
themselves, so the stage writes where DVC reads), forwards SIGINT, SIGTERM and SIGHUP to the
forked stage, and exits with the stage's status. When there is no server or it declines (another
working directory or interpreter, an environment that differs where libraries read it at import),
it says so in one line and returns: the stage then runs here, as without the server.

Only the standard library is imported here: this runs before every delegated stage.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys

ENV = "PIPELINE_PRELOAD"
# Not handed over: the server itself and the runner that starts it.
NOT_DELEGATED = ("pipeline.preload", "pipeline.repro")
_FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def module_of(orig_argv: list[str]) -> str | None:
    """X of `python -m X ...` when that is the whole interpreter command line (no other interpreter
    options, which the server's interpreter would not have), else None."""
    if len(orig_argv) >= 3 and orig_argv[1] == "-m":
        return orig_argv[2]
    return None


def _say(line: str) -> None:
    print(f"pipeline.preload: {line}", file=sys.stderr, flush=True)


def _stdio_fds() -> list[int]:
    """Descriptors 0, 1, 2; one that is closed is replaced by /dev/null (a descriptor must exist
    to be sent)."""
    fds = []
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
            fds.append(fd)
        except OSError:
            fds.append(os.open(os.devnull, os.O_RDWR))
    return fds


def read_message(sock: socket.socket, buffer: bytearray) -> dict | None:
    """The next newline-terminated JSON object from `sock` (None at end of stream)."""
    while b"\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        buffer += chunk
    line, _, rest = bytes(buffer).partition(b"\n")
    buffer[:] = rest
    return json.loads(line)


def send_request(sock: socket.socket, module: str, argv: list[str], cwd: str, env: dict[str, str],
                 orig_argv: list[str], fds: list[int]) -> None:
    """Ask the server to run `python -m module argv` as this interpreter would in `cwd` with `env`,
    on descriptors `fds` as the stage's 0, 1 and 2."""
    request = {"module": module, "argv": argv, "cwd": cwd, "env": env, "executable": sys.executable,
               "orig_argv": orig_argv}
    socket.send_fds(sock, [json.dumps(request).encode() + b"\n"], fds)


def delegate() -> None:
    """Run this stage in the preload server and exit with its status, or return to run it here."""
    path = os.environ.get(ENV)
    module = module_of(getattr(sys, "orig_argv", []))
    if not path or module is None or module in NOT_DELEGATED or not module.startswith("pipeline."):
        return
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError as err:
        _say(f"no server at {path} ({err.strerror}); running {module} in this process")
        return
    buffer = bytearray()
    try:
        send_request(sock, module, sys.argv[1:], os.getcwd(), dict(os.environ), list(sys.orig_argv), _stdio_fds())
        reply = read_message(sock, buffer)
    except OSError as err:
        reply = {"decline": f"server unreachable ({err.strerror})"}
    if reply is None or "decline" in reply:
        _say(f"{reply['decline'] if reply else 'server closed the connection'}; running {module} in this process")
        sock.close()
        return
    pid = reply["pid"]

    def forward(signum: int, _frame: object) -> None:
        try:
            os.killpg(pid, signum)  # the stage leads its own group: its workers get the signal too
        except ProcessLookupError:
            pass

    for signum in _FORWARDED:
        signal.signal(signum, forward)
    reply = read_message(sock, buffer)
    if reply is None:
        _say(f"the server went away before {module} (pid {pid}) ended")
        os._exit(1)
    end_as(reply["exit"])


def end_as(code: int) -> None:
    """Flush the standard streams and end this process with exit status `code`, or, when it is
    negative, by signal -code (the default action), so that a caller sees what happened."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    if code < 0:
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    os._exit(code & 0xFF)
