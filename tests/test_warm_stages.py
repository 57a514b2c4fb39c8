"""scripts/run.sh's warm stage server (ssl_mm/stages/warm.py): DVC's stages run as forks of one
process that imported torch, MMagic and MLflow once. A stage run there must write what it writes
in its own process, end as it ends there, and get the signals DVC's stage gets."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from dvc_repo import dvc, make_repo

from ssl_mm.stages.warm import SERVER_ENV

STAGE = [sys.executable, '-m', 'ssl_mm.stages.train_dense', 'dense', '--degradation', 'bi']  # what dvc.yaml runs


@pytest.fixture
def served_repo(tmp_path):
    """A default-profile checkout (6 dense iterations) and a stage server started in it, as run.sh
    starts one; yields the checkout and the server's socket."""
    repo = make_repo(tmp_path / 'repo', lambda params: params['train_dense'].update(iters=6))
    sock = tmp_path / 'stages.sock'
    server = subprocess.Popen([sys.executable, '-c', 'import sys; from ssl_mm.stages.warm import serve; serve(sys.argv[1])',
                               str(sock)], cwd=repo, stderr=subprocess.PIPE, text=True)
    assert 'imported in' in server.stderr.readline()  # pre-imports done: stages fork from here on
    yield repo, sock
    server.terminate()
    server.wait(timeout=30)


def server_log(sock: Path) -> list[str]:
    log = Path(f'{sock}.log')
    return log.read_text().splitlines() if log.exists() else []


def stage_pid(sock: Path, after: int) -> int:
    """The pid of the stage the server starts after line ``after`` of its log (waits for it)."""
    deadline = time.monotonic() + 60
    while not (started := [line for line in server_log(sock)[after:] if 'started (pid' in line]):
        assert time.monotonic() < deadline, 'the stage never started in the server'
        time.sleep(0.1)
    return int(started[-1].rsplit('pid ', 1)[1].rstrip(')'))


def wait_for_training(stdout: Path) -> None:
    """Until the stage's stdout shows training iterations. A SIGINT during start-up can land in a
    weakref callback run by the garbage collector (SQLAlchemy's, under MLflow): CPython prints
    'Exception ignored' and goes on, in a process of its own too. A fixed 3 s sleep ended there
    on a slow machine (CI), so the test waits for training before it signals."""
    deadline = time.monotonic() + 300
    while 'Iter(train)' not in stdout.read_text():
        assert time.monotonic() < deadline, 'the stage never logged a training iteration'
        time.sleep(0.2)


def weights(path: Path) -> dict[str, torch.Tensor]:
    checkpoint = torch.load(path, map_location='cpu', weights_only=False)
    return checkpoint.get('state_dict', checkpoint)


def test_a_stage_in_the_warm_server_trains_as_in_its_own_process(served_repo, monkeypatch):
    repo, sock = served_repo
    monkeypatch.setenv(SERVER_ENV, str(sock))
    assert 'Saving checkpoint at 6 iterations' in dvc(repo, 'repro', 'train_dense@bi').stdout  # the stage's own stdout
    assert server_log(sock)[-1] == 'python -m ssl_mm.stages.train_dense dense --degradation bi ended with 0'
    assert 'python -m ssl_mm.stages.prepare_data ended with 0' in server_log(sock)
    warm = weights(repo / 'models/dense/bi-seed0/dense.pth')
    warm_metrics = (repo / 'metrics/train/dense/bi-seed0.json').read_text()

    monkeypatch.delenv(SERVER_ENV)  # the same stage from scratch in its own interpreter
    lines = len(server_log(sock))
    subprocess.run(['rm', '-rf', str(repo / 'work_dirs')], check=True)
    dvc(repo, 'repro', '--force', '--single-item', 'train_dense@bi')
    assert len(server_log(sock)) == lines
    cold = weights(repo / 'models/dense/bi-seed0/dense.pth')
    assert warm.keys() == cold.keys() and all(torch.equal(warm[k], cold[k]) for k in warm)
    assert (repo / 'metrics/train/dense/bi-seed0.json').read_text() == warm_metrics


def test_the_warm_server_runs_ssl_mm_as_edited_and_passes_on_errors(served_repo):
    repo, sock = served_repo
    env = dict(os.environ, **{SERVER_ENV: str(sock)})
    module = repo / 'ssl_mm/stages/train_dense.py'
    module.write_text("print('edited after the server started')\n" + module.read_text())
    params = yaml.safe_load((repo / 'params.yaml').read_text())
    (repo / 'params.yaml').write_text(yaml.safe_dump({**params, 'profil': 'paper'}))

    result = subprocess.run(STAGE, cwd=repo, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stdout.startswith('edited after the server started')
    assert result.stderr.strip().splitlines() == [f"error: params.yaml: unknown key 'profil'; known: {sorted(params)}"]
    assert server_log(sock)[-1] == 'python -m ssl_mm.stages.train_dense dense --degradation bi ended with 2'

    # Another Python environment (here the base interpreter, without our packages): refused, the
    # stage runs in its own process (and fails there on an import).
    base = Path(sys.base_prefix) / 'bin' / Path(sys.executable).name
    result = subprocess.run([str(base), *STAGE[1:]], cwd=repo, env=env, capture_output=True, text=True, timeout=120)
    assert result.stderr.startswith(f'[ssl-mm] stage server: it runs the Python of {sys.prefix}, this stage that of ')
    assert result.stdout.startswith('edited after the server started') and 'ModuleNotFoundError' in result.stderr
    assert len(server_log(sock)) == 2


def test_signals_to_the_stage_dvc_started_reach_the_stage_in_the_server(served_repo):
    repo, sock = served_repo
    params = yaml.safe_load((repo / 'params.yaml').read_text())
    params['train_dense']['iters'] = 100_000
    (repo / 'params.yaml').write_text(yaml.safe_dump(params))
    dvc(repo, 'repro', 'prepare_data')
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        lines = len(server_log(sock))
        out = repo.parent / f'stage-{sig.name}.out'
        with out.open('w') as stdout:
            client = subprocess.Popen(STAGE, cwd=repo, env=dict(os.environ, **{SERVER_ENV: str(sock)}),
                                      stdout=stdout, stderr=subprocess.PIPE, text=True)
        stage = stage_pid(sock, after=lines)
        wait_for_training(out)
        client.send_signal(sig)
        assert client.wait(timeout=60) == -sig  # the client ends as the stage did (SIGKILL: the client itself)
        deadline = time.monotonic() + 30
        while not server_log(sock)[-1].endswith(f'ended with {-sig}'):  # SIGKILL: the server kills the stage
            assert time.monotonic() < deadline, server_log(sock)
            time.sleep(0.1)
        with pytest.raises(ProcessLookupError):
            os.kill(stage, 0)
        if sig == signal.SIGINT:  # the stage's traceback, on the client's stderr
            assert client.stderr.read().rstrip().endswith('KeyboardInterrupt')
