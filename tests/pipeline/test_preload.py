"""pipeline/preload.py and preload_client.py: stages forked by the preload server behave as the
same `python -m pipeline.X` started fresh (outputs, streams, exit status, signals), and a
request the server cannot serve as the client would runs in the client's own process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.preload import import_time_env
from pipeline.preload_client import ENV, module_of

ROOT = Path(__file__).resolve().parents[2]
WORLD = ["-m", "pipeline.world", "--params", "profiles/smoke.yaml"]


def world_args(out: Path) -> list[str]:
    return [*WORLD, "--web", str(out / "web.jsonl"), "--seed-pages", str(out / "seed.jsonl"),
            "--train", str(out / "train.jsonl"), "--test", str(out / "test.jsonl"), "--metrics", str(out / "m.json")]


def start_server(tmp_path: Path) -> tuple[subprocess.Popen, Path, Path, dict[str, str]]:
    """(process, socket, log, env) of a server preloading one light module (the default list
    takes about 10 s to import), once it listens."""
    path, log = tmp_path / "socket", tmp_path / "server.log"
    env = {k: v for k, v in os.environ.items() if k != ENV}
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "pipeline.preload", str(path), "--modules", "json"],
                                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 30
    while not path.exists():
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)
    return proc, path, log, env


@pytest.fixture()
def server(tmp_path):
    proc, path, log, env = start_server(tmp_path)
    yield path, log, env
    proc.terminate()
    assert proc.wait(timeout=30) == 0
    assert not path.exists()  # the server removes its socket


def client(args: list[str], env: dict[str, str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, **kw)


def test_a_forked_stage_writes_what_a_fresh_process_writes(server, tmp_path):
    path, log, env = server
    fresh, forked = tmp_path / "fresh", tmp_path / "forked"
    fresh.mkdir(), forked.mkdir()
    plain = client(world_args(fresh), env)
    handed = client(world_args(forked), {**env, ENV: str(path)})
    assert plain.returncode == handed.returncode == 0, handed.stderr
    assert "forked pipeline.world" in log.read_text() and "exited with 0" in log.read_text()
    assert "no server" not in handed.stderr and "declined" not in handed.stderr
    for name in ("web.jsonl", "seed.jsonl", "train.jsonl", "test.jsonl", "m.json"):
        assert (fresh / name).read_bytes() == (forked / name).read_bytes(), name
    # The stage wrote to the client's streams: its log lines reached this test's pipe.
    assert "pipeline:" in handed.stderr and handed.stderr.count("\n") == plain.stderr.count("\n")


def test_streams_and_exit_status_are_the_clients(server):
    path, log, env = server
    env = {**env, ENV: str(path)}
    shown = client(["-m", "pipeline.world", "--help"], env)
    assert shown.returncode == 0 and shown.stdout.startswith("usage: world.py")
    bad = client(["-m", "pipeline.world", "--no-such-flag"], env)
    assert bad.returncode == 2 and "the following arguments are required: --web" in bad.stderr
    missing = client(["-m", "pipeline.world", "--params", "no/such.yaml", "--web", "a", "--seed-pages", "b",
                      "--train", "c", "--test", "d", "--metrics", "e"], env)
    assert missing.returncode == 1 and "no/such.yaml" in missing.stderr
    assert log.read_text().count("forked pipeline.world") == 3
    assert "exited with 2" in log.read_text() and "exited with 1" in log.read_text()


def test_an_import_time_variable_that_differs_runs_the_stage_here(server):
    path, log, env = server
    done = client(["-m", "pipeline.world", "--help"], {**env, ENV: str(path), "OMP_NUM_THREADS": "3"})
    assert done.returncode == 0 and done.stdout.startswith("usage: world.py")
    assert "environment read at import differs from the server's: OMP_NUM_THREADS" in done.stderr
    assert "running pipeline.world in this process" in done.stderr
    assert "declined pipeline.world" in log.read_text() and "forked" not in log.read_text()


def test_without_a_server_the_stage_runs_here_and_says_so(tmp_path):
    env = {**os.environ, ENV: str(tmp_path / "none")}
    done = client(["-m", "pipeline.world", "--help"], env)
    assert done.returncode == 0 and done.stdout.startswith("usage: world.py")
    assert f"no server at {tmp_path / 'none'}" in done.stderr


def slow_world(tmp_path: Path) -> list[str]:
    """`world` on a web fifty times the default's (ten times took 4.8 s): a stage still running
    when the test signals it, on a loaded machine too."""
    import yaml

    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["world"]["web"]["pages_per_domain"] *= 50
    (tmp_path / "slow.yaml").write_text(yaml.safe_dump(params))
    return [*world_args(tmp_path), "--params", str(tmp_path / "slow.yaml")]


def slow_client(tmp_path: Path, path: Path, env: dict[str, str], stderr: int = subprocess.DEVNULL) -> subprocess.Popen:
    """`slow_world` started as a client of the server at `path`."""
    return subprocess.Popen([sys.executable, *slow_world(tmp_path)], cwd=ROOT, env={**env, ENV: str(path)},
                            stdout=subprocess.DEVNULL, stderr=stderr, text=True)


def _wait_for(log: Path, text: str) -> None:
    deadline = time.monotonic() + 60
    while text not in log.read_text():
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)


def test_a_signal_to_the_client_reaches_the_stage(server, tmp_path):
    path, log, env = server
    proc = slow_client(tmp_path, path, env)
    _wait_for(log, "forked pipeline.world")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == -signal.SIGTERM  # the client ends as its stage did
    _wait_for(log, f"exited with {-signal.SIGTERM}")
    assert not (tmp_path / "m.json").exists()


def test_a_client_that_dies_takes_its_stage_with_it(server, tmp_path):
    path, log, env = server
    proc = slow_client(tmp_path, path, env)
    _wait_for(log, "forked pipeline.world")
    proc.kill()
    proc.wait()
    _wait_for(log, "went away: stopping it")
    _wait_for(log, f"exited with {-signal.SIGTERM}")


def test_only_a_plain_dash_m_command_line_is_handed_over():
    assert module_of(["python", "-m", "pipeline.sft", "--x"]) == "pipeline.sft"
    assert module_of(["python", "-X", "importtime", "-m", "pipeline.sft"]) is None  # an option the server lacks
    assert module_of(["python", "script.py"]) is None


def test_import_time_variables_are_the_ones_compared():
    env = {"OMP_NUM_THREADS": "1", "PIPELINE_THREADS": "2", "HF_HOME": "/x", "PYTHONUNBUFFERED": "1", "PATH": "/bin",
           "ATEN_CPU_CAPABILITY": "avx2"}
    assert import_time_env(env) == {"OMP_NUM_THREADS": "1", "HF_HOME": "/x", "ATEN_CPU_CAPABILITY": "avx2"}


def test_a_stage_dies_with_its_server_and_the_client_reports_it(tmp_path):
    """SIGKILL to the server: the stage gets SIGTERM (PR_SET_PDEATHSIG) instead of writing on
    unseen, and its client exits 1 saying why."""
    import re

    server, path, log, env = start_server(tmp_path)
    proc = slow_client(tmp_path, path, env, stderr=subprocess.PIPE)
    _wait_for(log, "forked pipeline.world")
    pid = int(re.search(r"forked pipeline.world as pid (\d+)", log.read_text()).group(1))
    server.kill()
    server.wait()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and "the server went away before pipeline.world" in err
    deadline = time.monotonic() + 30
    while Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]:
        assert time.monotonic() < deadline, "the stage outlived its server"
        time.sleep(0.05)
    assert not (tmp_path / "m.json").exists()  # stopped, not run to its end (its last write)


def test_a_malformed_request_is_dropped_and_the_server_serves_on(server):
    import socket

    path, log, env = server
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as junk:
        junk.connect(str(path))
        junk.sendall(b"not json\n")
    done = client(["-m", "pipeline.world", "--help"], {**env, ENV: str(path)})
    assert done.returncode == 0 and done.stdout.startswith("usage: world.py")
    assert "forked pipeline.world" in log.read_text()


def test_the_stage_leads_its_group_before_the_client_hears_its_pid(server, tmp_path):
    """The race CI hit: a client gone right after the fork was signalled through a group the child
    had not yet made, and the stage ran on. The group must exist when the pid is announced, so a
    client that leaves at once still stops its stage."""
    import re
    import socket

    from pipeline.preload_client import read_message, send_request

    path, log, env = server
    argv = slow_world(tmp_path)
    for _ in range(3):
        null = os.open(os.devnull, os.O_RDWR)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:  # closed the moment the pid is known
            sock.connect(str(path))
            send_request(sock, "pipeline.world", argv[2:], str(ROOT), {**env, ENV: str(path)},
                         [sys.executable, *argv], [null, null, null])
            pid = read_message(sock, bytearray())["pid"]
            assert os.getpgid(pid) == pid  # as soon as the pid is announced
        os.close(null)
        _wait_for(log, f"pid {pid} exited with {-signal.SIGTERM}")
    assert len(re.findall("went away: stopping it", log.read_text())) == 3
    assert not (tmp_path / "m.json").exists()


def test_a_stopped_server_stops_its_stages_first(tmp_path):
    """SIGTERM to the server (the runner's `finally`): its running stage is stopped, not left
    writing, and the client says the server went away."""
    server, path, log, env = start_server(tmp_path)
    proc = slow_client(tmp_path, path, env, stderr=subprocess.PIPE)
    _wait_for(log, "forked pipeline.world")
    server.terminate()
    assert server.wait(timeout=30) == 0 and not path.exists()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and "the server went away before pipeline.world" in err
    assert not (tmp_path / "m.json").exists()
