"""`python -m pipeline.preload SOCKET`: a process that imports the stages' libraries once and forks
a stage for each `python -m pipeline.X` handed to it (pipeline/preload_client.py).

Why: a torch stage spent 8 to 10 s of a core before its first step, importing torch, its
deterministic mode (`torch._inductor.config`), transformers with the Llama modeling code and
accelerate (7.75 s for those imports alone, 2026-12-02), and the default DAG has 22 such stages
on 2 cores. `evaluate@sft` at 1 thread, three alternating pairs: 53.1, 54.9 and 50.9 s as a fresh
process, 44.3, 40.4 and 42.8 s forked from this server, with the same samples and metrics byte
for byte. The runner (`python -m pipeline.repro`) starts the server and points its stages at it
through PIPELINE_PRELOAD; a plain `dvc repro` does not, and its stages import everything
themselves.

How: the server binds its socket at once, then imports `PRELOAD` one module at a time while no
request waits (a request waits at most for the import in progress). For a request it forks; the
child takes the client's standard streams, working directory, environment and arguments, leads
its own process group, and runs the module as `__main__` (runpy, as `python -m` does), then ends
as a program ends (below). The server sends the child's pid, then its exit status
(negative: the signal that killed it), and reaps it. A client that goes away takes its stage
with it (SIGTERM to the stage's group); the server stops its stages when it is stopped, or when
the runner that started it is gone.

A fork shares the server's memory until either side writes a page. The server collects no
garbage and freezes its objects before each fork (`gc.freeze`), so a collection in the child does
not visit them, and the child ends without the interpreter's module teardown (`_exit`), which
would touch every imported object: `world` took 70,000 page faults and 1.7 s of CPU that way,
17,000 and 1.0 to 1.3 s without, against 1.1 to 1.2 s as a fresh process that imports no torch.

What the child shares with the server is imported code only: the server computes nothing, so no
torch or OpenMP thread pool exists before the fork. Modules that start threads at import are not
preloaded: fork copies only the forking thread, and a pool whose threads vanished can deadlock.
polars (and pyarrow, through pandas and dvclive) start threads at import and stay out; numpy's
and scipy's OpenBLAS start one each, and OpenBLAS stops its pool before a fork (pthread_atfork).
A request is declined (the stage then runs in its own process, as before) when its working
directory or interpreter differs from the server's, or when it sets an environment variable that
a library reads at import (`IMPORT_TIME_PREFIXES`) to another value than the server saw. Tested
on CPU machines only: the runner does not start it where an NVIDIA device is present.
"""

from __future__ import annotations

import argparse
import atexit
import ctypes
import gc
import importlib
import io
import json
import os
import runpy
import selectors
import signal
import socket
import sys
import threading
import time
import traceback
from dataclasses import dataclass

from pipeline.preload_client import ENV, end_as, read_message

# In import order: the data stages' libraries first (they run first), then the torch stack.
PRELOAD = (
    "numpy", "yaml", "tqdm", "networkx", "datasketch", "fasttext",
    "torch", "torch._inductor.config",  # torch.use_deterministic_algorithms imports the latter
    "transformers", "transformers.models.llama.modeling_llama", "transformers.models.qwen2.modeling_qwen2",
    "accelerate", "math_verify", "matplotlib.figure", "matplotlib.backends.backend_agg",
)
# Variables read when a library loads (thread pools, allocators, caches, the interpreter itself);
# a stage that sets one differently from the server runs in its own process instead.
IMPORT_TIME_PREFIXES = ("OMP_", "MKL_", "ATEN_", "KMP_", "GOMP_", "OPENBLAS_", "TORCH", "PYTORCH_", "CUDA_", "HF_",
                        "TRANSFORMERS_", "TOKENIZERS_", "PYTHON", "LD_", "MALLOC_", "GLIBC_", "MPL", "MATPLOTLIB")
NOT_COMPARED = ("PYTHONUNBUFFERED",)  # the child sets its streams up from the client's value
_PR_SET_PDEATHSIG = 1  # linux/prctl.h
_HANDLED = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}  # the server's own handlers (main)


class _Stop(Exception):
    """SIGTERM, SIGINT or SIGHUP reached the server."""


@dataclass
class Request:
    module: str
    argv: list[str]
    cwd: str
    env: dict[str, str]
    executable: str
    orig_argv: list[str]
    fds: list[int]


def import_time_env(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith(IMPORT_TIME_PREFIXES) and k not in NOT_COMPARED}


def why_not(request: Request, cwd: str, env: dict[str, str]) -> str | None:
    """Why this server cannot run `request` as the client would (None: it can)."""
    if request.executable != sys.executable:
        return f"another interpreter ({request.executable}, the server runs {sys.executable})"
    if os.path.realpath(request.cwd) != os.path.realpath(cwd):
        return f"another working directory ({request.cwd}, the server's is {cwd})"
    theirs, ours = import_time_env(request.env), import_time_env(env)
    differ = sorted(k for k in set(theirs) | set(ours) if theirs.get(k) != ours.get(k))
    if differ:
        return f"environment read at import differs from the server's: {', '.join(differ)}"
    return None


def _parse(message: dict, fds: list[int]) -> Request:
    return Request(str(message["module"]), [str(a) for a in message["argv"]], str(message["cwd"]),
                   {str(k): str(v) for k, v in message["env"].items()}, str(message["executable"]),
                   [str(a) for a in message["orig_argv"]], fds)


def _receive(conn: socket.socket) -> Request | None:
    """The request on a new connection, with its three descriptors (None: not a valid request)."""
    conn.settimeout(10.0)
    fds: list[int] = []
    try:
        data, fds, _, _ = socket.recv_fds(conn, 65536, 3)
        buffer = bytearray(data)
        message = read_message(conn, buffer) if data else None
        if message is None or len(fds) != 3:
            raise ValueError("incomplete request")
        return _parse(message, fds)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        for fd in fds:
            os.close(fd)
        return None


def _send(conn: socket.socket, message: dict) -> None:
    try:
        conn.sendall((json.dumps(message) + "\n").encode())
    except OSError:  # the client is gone; its stage is stopped when its connection reads as closed
        pass


class Server:
    """The accept/fork/reap loop; `serve` returns only in a forked child, with its request."""

    def __init__(self, path: str, modules: tuple[str, ...] = PRELOAD, say=print) -> None:
        self.path = path
        self.pending = list(modules)
        self.say = say
        self.cwd = os.getcwd()
        self.env = dict(os.environ)
        self.parent = os.getppid()
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(64)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ, ("accept", None))
        self.children: dict[int, tuple[socket.socket, int, float]] = {}  # pid -> (client connection, pidfd, start)

    def serve(self) -> Request:
        while True:
            events = self.selector.select(0 if self.pending else 1.0)
            for key, _ in events:
                kind, pid = key.data
                if kind == "accept":
                    child = self._accept()
                    if child is not None:
                        return child
                elif kind == "exit":
                    if pid in self.children:
                        self._reap(pid)
                else:  # the client's connection: readable only when it closed (it sends nothing more)
                    self._client_gone(pid, key.fileobj)
            if not events and self.pending:
                self._import_next()
            if os.getppid() != self.parent:  # the runner is gone (killed): stop its stages too
                raise _Stop

    def _import_next(self) -> None:
        name = self.pending.pop(0)
        began = time.perf_counter()
        try:
            importlib.import_module(name)
        except Exception as err:  # noqa: BLE001 - e.g. an extra that is not installed: the stage imports it
            self.say(f"not preloaded: {name} ({type(err).__name__}: {err})")
            return
        self.say(f"preloaded {name} in {time.perf_counter() - began:.2f} s")

    def _accept(self) -> Request | None:
        conn, _ = self.listener.accept()
        request = _receive(conn)
        if request is None:
            conn.close()
            return None
        reason = why_not(request, self.cwd, self.env)
        if reason:
            self.say(f"declined {request.module}: {reason}")
            _send(conn, {"decline": reason})
            conn.close()
            for fd in request.fds:
                os.close(fd)
            return None
        gc.freeze()  # the imported objects: a collection in the child neither visits nor copies them
        # Signals wait until the child has its own group and default handlers (a SIGTERM in
        # between would otherwise run the server's handler in the child, or miss its group),
        # and in the server until the client has the pid.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, _HANDLED)
        server = os.getpid()
        pid = os.fork()
        if pid == 0:
            os.setpgid(0, 0)  # its own group: the client and the server signal the stage with its workers
            _die_with(server)
            self._become_child(conn)
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            return request
        try:  # the parent sets it too (the usual idiom): the group exists before the client hears the pid
            os.setpgid(pid, pid)
        except (ProcessLookupError, PermissionError):  # the child has exited already, or called exec (EACCES)
            pass
        for fd in request.fds:
            os.close(fd)
        pidfd = os.pidfd_open(pid)
        self.children[pid] = (conn, pidfd, time.monotonic())
        self.selector.register(pidfd, selectors.EVENT_READ, ("exit", pid))
        self.selector.register(conn, selectors.EVENT_READ, ("client", pid))
        _send(conn, {"pid": pid})
        self.say(f"forked {request.module} as pid {pid} ({' '.join(request.argv)[:200]})")
        # A stop that waited now finds the stage among those it stops, and its client knows the
        # pid: it reports the server gone instead of taking the closed connection for a refusal
        # and running the stage itself.
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        return None

    def _become_child(self, keep: socket.socket) -> None:
        """In the fork: drop the server's sockets and descriptors and signal handlers."""
        self.selector.close()
        self.listener.close()
        for conn, pidfd, _ in self.children.values():
            conn.close()
            os.close(pidfd)
        keep.close()
        self.children.clear()
        gc.enable()
        for signum in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def _reap(self, pid: int) -> None:
        conn, pidfd, began = self.children.pop(pid)
        _, status, usage = os.wait4(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        self.selector.unregister(pidfd)
        os.close(pidfd)
        try:
            self.selector.unregister(conn)
        except (KeyError, ValueError):
            pass
        self.say(f"pid {pid} exited with {code} after {time.monotonic() - began:.1f} s "
                 f"(cpu {usage.ru_utime:.1f} s user + {usage.ru_stime:.1f} s sys, {usage.ru_minflt} minor faults)")
        _send(conn, {"exit": code})  # after the log line: a client that has its status finds the line written
        conn.close()

    def _client_gone(self, pid: int, conn: socket.socket) -> None:
        if pid not in self.children:  # reaped earlier in the same round of events
            return
        self.selector.unregister(conn)
        try:
            closed = conn.recv(1) == b""
        except OSError:
            closed = True
        if closed:
            self.say(f"client of pid {pid} went away: stopping it")
            _signal_group(pid, signal.SIGTERM)

    def stop(self) -> None:
        """Stop every running stage (SIGTERM to its group, SIGKILL after 10 s) and remove the socket."""
        for pid in self.children:
            _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10.0
        for pid, (conn, pidfd, _) in list(self.children.items()):
            while time.monotonic() < deadline and os.waitpid(pid, os.WNOHANG) == (0, 0):
                time.sleep(0.05)
            _signal_group(pid, signal.SIGKILL)
            conn.close()
            os.close(pidfd)
        self.children.clear()
        self.listener.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _stdio(request: Request) -> None:
    """The client's descriptors as 0, 1 and 2, and Python streams over them set up as a fresh
    interpreter would for them (line-buffered on a terminal, or always with PYTHONUNBUFFERED)."""
    for target, fd in enumerate(request.fds):
        os.dup2(fd, target)
    for fd in set(request.fds) - {0, 1, 2}:
        os.close(fd)
    unbuffered = bool(request.env.get("PYTHONUNBUFFERED"))
    old = (sys.stdin, sys.stdout, sys.stderr)

    def stream(fd: int, mode: str, like: io.TextIOWrapper, line: bool) -> io.TextIOWrapper:
        raw = io.FileIO(fd, mode, closefd=False)
        if mode == "r":
            binary = io.BufferedReader(raw)
        else:
            binary = raw if unbuffered else io.BufferedWriter(raw)
        return io.TextIOWrapper(binary, encoding=like.encoding, errors=like.errors, line_buffering=line,
                                write_through=unbuffered and mode == "w")

    sys.stdin = sys.__stdin__ = stream(0, "r", old[0], False)
    sys.stdout = sys.__stdout__ = stream(1, "w", old[1], os.isatty(1))
    sys.stderr = sys.__stderr__ = stream(2, "w", old[2], True)


def _die_with(server: int) -> None:
    """SIGTERM to this child if the server dies (prctl PR_SET_PDEATHSIG): its client then reports
    the stage as failed, so the stage must not go on writing outputs unseen. A server that died
    before the prctl is seen as a changed parent; the signal, blocked until the child is set up,
    then ends it."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass
    if os.getppid() != server:
        os.kill(os.getpid(), signal.SIGTERM)


def run_request(request: Request) -> None:
    """In the forked child: become the client's `python -m MODULE ARGS` and run it."""
    _stdio(request)
    os.chdir(request.cwd)
    os.environ.clear()
    os.environ.update({k: v for k, v in request.env.items() if k != ENV})  # its own children start fresh
    sys.orig_argv = request.orig_argv
    sys.argv = [request.module, *request.argv]  # runpy puts the module's path in argv[0]
    code = 0
    try:
        runpy.run_module(request.module, run_name="__main__", alter_sys=True)
    except SystemExit as stop:  # sys.exit's argument, as the interpreter reads it
        if stop.code is None or isinstance(stop.code, int):
            code = stop.code or 0
        else:
            print(stop.code, file=sys.stderr)
            code = 1
    except KeyboardInterrupt:
        traceback.print_exc()
        code = -signal.SIGINT
    except BaseException:  # noqa: BLE001 - printed as the interpreter prints an uncaught exception
        traceback.print_exc()
        code = 1
    _exit(code)


def _exit(code: int) -> None:
    """End the child as the interpreter ends a program (non-daemon threads joined, atexit
    functions run, streams flushed), without its module teardown: that would visit every object
    the server imported, copying each page the child shares with it (measured on `world`: 70,000
    page faults and 0.4 s, for a stage that runs in 1.3 s)."""
    shutdown = getattr(threading, "_shutdown", None)  # what Py_FinalizeEx calls first
    if shutdown is not None:
        shutdown()
    atexit._run_exitfuncs()
    end_as(code)  # an uncaught KeyboardInterrupt (code -SIGINT) ends a Python program by SIGINT


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m pipeline.preload", description=__doc__.split("\n\n")[0])
    p.add_argument("socket", help="path of the Unix socket to listen on (must not exist)")
    p.add_argument("--modules", default=",".join(PRELOAD),
                   help="comma-separated modules to import before forking stages (default: the stages' libraries)")
    args = p.parse_args(argv)

    def stop(signum: int, _frame: object) -> None:
        raise _Stop

    for signum in _HANDLED:
        signal.signal(signum, stop)
    gc.disable()  # no collection in the server: freed objects would leave holes in pages its children share

    def say(line: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {line}", flush=True)

    server = Server(args.socket, tuple(m for m in args.modules.split(",") if m), say=say)
    try:
        request = server.serve()
    except _Stop:
        server.stop()
        return 0
    run_request(request)  # only a forked child gets here, and it does not return
    return 0


if __name__ == "__main__":
    sys.exit(main())
