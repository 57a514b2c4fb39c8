import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from ssl_mm.errors import TrackingError
from ssl_mm.tracking import (
    EXPERIMENT_KIND,
    EXPERIMENT_KIND_TAG,
    STARTUP_HTTP,
    MLflowActiveRunBackend,
    finish_pipeline_run,
    setup,
    stage_run,
    tracking_uri,
)


@pytest.fixture(autouse=True)
def local_store_by_default(monkeypatch):
    """A team server exported in the shell must not receive these tests' runs."""
    monkeypatch.delenv('MLFLOW_TRACKING_URI', raising=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def mlflow_server(db: Path, artifacts: Path, timeout: float = 120) -> Iterator[str]:
    """A real ``mlflow server`` on a free local port over the SQLite store ``db``, serving (proxying)
    artifacts into ``artifacts``; yields its URL and stops it (its whole process group) after."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith('MLFLOW_')}
    env.update(MLFLOW_DISABLE_TELEMETRY='true', DO_NOT_TRACK='true')
    log = db.with_name(f'{db.stem}.server.log')
    cmd = [sys.executable, '-m', 'mlflow', 'server', '--host', '127.0.0.1', '--port', str(port), '--workers', '1',
           '--backend-store-uri', f'sqlite:///{db.resolve()}', '--artifacts-destination', str(artifacts.resolve())]
    with open(log, 'wb') as out:
        proc = subprocess.Popen(cmd, cwd=db.parent, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    url = f'http://127.0.0.1:{port}'
    no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                pytest.fail(f'mlflow server exited with {proc.returncode}: {log.read_text()[-3000:]}')
            try:
                with no_proxy.open(f'{url}/health', timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f'mlflow server did not answer on {url} within {timeout:.0f} s: {log.read_text()[-3000:]}')
            time.sleep(0.3)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_stage_runs_nest_under_one_pipeline_run_per_execution(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for ratio in (0.25, 0.5):  # two pipeline executions
        for stage in ('sparsify', 'prune'):
            with stage_run(stage, {'ratio': ratio, 'nested': {'k': 1}}, {'prune_ratio': ratio}, root=tmp_path):
                MLflowActiveRunBackend().add_scalars({'train/loss': 1 - ratio}, step=3)
                mlflow.log_metric('kept', 1 - ratio)
        finish_pipeline_run(tmp_path)
    client = MlflowClient()
    experiment = client.get_experiment_by_name('ssl-mm')
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if 'mlflow.parentRunId' not in r.data.tags]
    stages = [r for r in runs if 'mlflow.parentRunId' in r.data.tags]
    assert len(parents) == 2 and all(r.info.status == 'FINISHED' for r in parents)
    assert len(stages) == 4 and {r.data.tags['mlflow.parentRunId'] for r in stages} == {r.info.run_id for r in parents}
    sparsify = sorted((r for r in stages if r.data.tags['stage'] == 'sparsify'), key=lambda r: r.data.params['ratio'])
    assert [r.data.params['ratio'] for r in sparsify] == ['0.25', '0.5']
    assert sparsify[0].data.params['nested.k'] == '1'
    assert [m.step for m in client.get_metric_history(sparsify[0].info.run_id, 'train/loss')] == [3]
    assert (tmp_path / 'mlflow.db').is_file()


@pytest.mark.parametrize('damage', ['not a database', 'a folder'])
def test_unusable_store_is_named_in_one_line(tmp_path, damage):
    store = tmp_path / 'mlflow.db'
    store.mkdir() if damage == 'a folder' else store.write_text(damage)
    with pytest.raises(TrackingError, match=r'mlflow.db: MLflow store not usable \(.*\); make .* writable') as err:
        setup(tmp_path)
    assert '\n' not in str(err.value)


def test_experiment_is_tagged_for_the_training_runs_view(tmp_path):
    """MLflow 3 keeps the experiment's kind in a tag (its UI's experiment-type selector writes the
    same tag): a new experiment gets it, an old one without it gets it, a kind set by hand stays."""
    fresh = tmp_path / 'fresh'
    fresh.mkdir()
    new = setup(fresh)
    assert MlflowClient(tracking_uri(fresh)).get_experiment(new).tags == {EXPERIMENT_KIND_TAG: EXPERIMENT_KIND}
    assert (EXPERIMENT_KIND_TAG, EXPERIMENT_KIND) == ('mlflow.experimentKind', 'custom_model_development')

    client = MlflowClient(tracking_uri(tmp_path))
    old = client.create_experiment('ssl-mm', artifact_location=(tmp_path / 'mlruns').as_uri())  # before the tag
    assert setup(tmp_path) == old
    assert client.get_experiment(old).tags == {'mlflow.experimentKind': 'custom_model_development'}
    client.set_experiment_tag(old, 'mlflow.experimentKind', 'genai_development')
    assert setup(tmp_path) == old
    assert client.get_experiment(old).tags['mlflow.experimentKind'] == 'genai_development'


def test_local_store_stays_private_to_its_repository(tmp_path):
    """mlflow.set_tracking_uri exports MLFLOW_TRACKING_URI: taken back for the local store, or a
    second root (a `dvc repro` started from this process) would track into the first one's store."""
    first, second = tmp_path / 'first', tmp_path / 'second'
    first.mkdir(), second.mkdir()
    setup(first)
    assert 'MLFLOW_TRACKING_URI' not in os.environ
    with stage_run('prepare_data', {'k': 1}, {}, root=second):
        pass
    assert (second / 'mlflow.db').is_file()
    assert MlflowClient(tracking_uri(first)).search_runs([setup(first)]) == []


def test_runs_go_to_the_tracking_server_named_by_MLFLOW_TRACKING_URI(tmp_path, monkeypatch):
    server, work = tmp_path / 'server', tmp_path / 'work'
    server.mkdir(), work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv('NO_PROXY', '127.0.0.1,localhost')
    with mlflow_server(server / 'server.db', server / 'artifacts') as url:
        monkeypatch.setenv('MLFLOW_TRACKING_URI', url)
        with stage_run('sparsify@ssl-0.5-0', {'ratio': 0.5, 'nested': {'k': 1}}, {'prune_ratio': 0.5}, root=work):
            mlflow.log_metric('kept', 0.5)
            mlflow.log_text('hello', 'note.txt')
        finish_pipeline_run(work)

        client = MlflowClient(url)
        experiment = client.get_experiment_by_name('ssl-mm')
        assert experiment.tags['mlflow.experimentKind'] == 'custom_model_development'
        assert experiment.artifact_location.startswith('mlflow-artifacts:')  # chosen by the server
        runs = client.search_runs([experiment.experiment_id])
        [parent] = [r for r in runs if 'mlflow.parentRunId' not in r.data.tags]
        [stage] = [r for r in runs if 'mlflow.parentRunId' in r.data.tags]
        assert parent.info.status == 'FINISHED' and parent.data.tags['prune_ratio'] == '0.5'
        assert stage.data.tags['mlflow.parentRunId'] == parent.info.run_id
        assert stage.info.run_name == stage.data.tags['stage'] == 'sparsify@ssl-0.5-0'
        assert stage.data.params == {'ratio': '0.5', 'nested.k': '1'} and stage.data.metrics == {'kept': 0.5}
        [note] = (server / 'artifacts').rglob('note.txt')  # uploaded through the server
        assert stage.info.run_id in note.parts and note.read_text() == 'hello'
    assert os.environ['MLFLOW_TRACKING_URI'] == url
    assert sorted(p.name for p in work.iterdir()) == ['work_dirs']  # no mlflow.db, no mlruns/


@pytest.mark.parametrize('server', ['nothing_listens', 'never_answers'])
def test_unreachable_tracking_server_is_named_in_one_line_within_seconds(tmp_path, monkeypatch, server):
    """MLflow's own HTTP defaults (7 retries with backoff: ~4 minutes) are not what the start-up
    check waits: a refused connection and a server that accepts but never answers (the timeout
    path) are both named in one line within 15 s."""
    with socket.socket() as silent:
        silent.bind(('127.0.0.1', 0))
        if server == 'never_answers':
            silent.listen(8)  # the kernel accepts connections; nothing ever reads or answers them
        port = silent.getsockname()[1]
        monkeypatch.setenv('MLFLOW_TRACKING_URI', f'http://ci:s3cret@127.0.0.1:{port}')
        monkeypatch.setenv('NO_PROXY', '127.0.0.1,localhost')
        before = {k: os.environ.get(k) for k in STARTUP_HTTP}
        start = time.monotonic()
        with pytest.raises(TrackingError, match=rf'^MLFLOW_TRACKING_URI=http://ci:\*\*\*@127.0.0.1:{port}: MLflow '
                                                r'tracking store not usable \(.+\); start the server or fix the URI, '
                                                r'or unset') as err:
            setup(tmp_path)
        waited = time.monotonic() - start
    print(f'start-up check, {server}: {waited:.1f} s')
    assert waited <= 15, waited
    assert '\n' not in str(err.value) and 's3cret' not in str(err.value)
    assert not (tmp_path / 'mlflow.db').exists()
    assert {k: os.environ.get(k) for k in STARTUP_HTTP} == before  # the bounds were for the check only


def _train_dense(root: Path, log: Path, uri: str | None) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != 'MLFLOW_TRACKING_URI'}
    env.update(MPLBACKEND='Agg', NO_PROXY='127.0.0.1,localhost', **({'MLFLOW_TRACKING_URI': uri} if uri else {}))
    with open(log, 'wb') as out:
        return subprocess.Popen([sys.executable, '-m', 'ssl_mm.stages.train_dense', 'dense', '--seed', '0'], cwd=root,
                                env=env, stdout=out, stderr=subprocess.STDOUT)


def test_a_tracking_server_that_dies_mid_stage_costs_no_work(tmp_path, prepared_dir, monkeypatch):
    """A real ``mlflow server`` killed at iteration 20 of train_dense: the stage warns once, in
    one line, finishes and exits 0 with weights equal to a run without any server; ``ssl-mm
    tracking sync`` against the restarted server then logs its record once, and again nothing."""
    import torch
    from dvc_repo import make_repo

    from ssl_mm.tracking import RECORD_TAG

    def edit(params):
        params['data'].update(prepared=str(prepared_dir), vid4_gt=None)
        params['train_dense']['iters'] = 60

    local, served = make_repo(tmp_path / 'local', edit), make_repo(tmp_path / 'served', edit)
    start = time.monotonic()
    assert _train_dense(local, tmp_path / 'local.log', None).wait(timeout=1800) == 0, (tmp_path / 'local.log').read_text()
    untracked = time.monotonic() - start

    server, db = tmp_path / 'server', tmp_path / 'server' / 'server.db'
    server.mkdir()
    log = tmp_path / 'served.log'
    with mlflow_server(db, server / 'artifacts') as url:
        start = time.monotonic()
        stage = _train_dense(served, log, url)
        while 'Iter(train) [20/60]' not in log.read_text():
            assert stage.poll() is None, log.read_text()[-3000:]
            time.sleep(0.2)
    assert stage.wait(timeout=1800) == 0, log.read_text()[-3000:]  # the server is gone from here on
    tracked_then_dead = time.monotonic() - start
    print(f'train_dense: {untracked:.1f} s untracked, {tracked_then_dead:.1f} s with the server killed at iteration 20')
    output = log.read_text()
    warnings = [line for line in output.splitlines() if 'MLflow' in line and 'warning' in line.lower()]
    assert len(warnings) == 1 and warnings[0].startswith('warning: MLflow tracking at http://127.0.0.1:'), output[-3000:]
    assert 'ssl-mm tracking sync' in warnings[0] and 'Traceback' not in output
    assert tracked_then_dead - untracked < 60  # one bounded wait, not MLflow's ~4 minutes per call
    weights = [torch.load(root / 'models' / 'dense' / 'bi-seed0' / 'dense.pth', weights_only=True)['state_dict']
               for root in (local, served)]
    assert weights[0].keys() == weights[1].keys() and all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])

    with mlflow_server(db, server / 'artifacts') as url:
        monkeypatch.setenv('MLFLOW_TRACKING_URI', url)
        monkeypatch.setenv('NO_PROXY', '127.0.0.1,localhost')
        cli = [str(Path(sys.executable).parent / 'ssl-mm'), 'tracking', 'sync']
        first = subprocess.run(cli, cwd=served, capture_output=True, text=True, timeout=600)
        assert first.returncode == 0 and '1 record(s) logged, 0 already logged, 1 run(s) left RUNNING marked FAILED' \
            in first.stdout, first.stdout + first.stderr[-3000:]
        again = subprocess.run(cli, cwd=served, capture_output=True, text=True, timeout=600)
        assert '0 record(s) logged, 1 already logged, 0 run(s)' in again.stdout, again.stdout + again.stderr[-3000:]
        client = MlflowClient(url)
        runs = client.search_runs([client.get_experiment_by_name('ssl-mm').experiment_id])
        [synced] = [r for r in runs if RECORD_TAG in r.data.tags]
        assert synced.info.run_name == 'train_dense@bi' and synced.info.status == 'FINISHED'
        record = json.loads((served / 'metrics' / 'train' / 'dense' / 'bi-seed0.json').read_text())
        assert synced.data.metrics['train_loss'] == pytest.approx(record['train_loss'])
        [killed] = [r for r in runs if r.info.run_name == 'train_dense@bi' and r is not synced
                    and r.info.run_id != synced.info.run_id]
        assert killed.info.status == 'FAILED'



def test_an_evaluated_network_round_trips_through_mlflow_models(tmp_path, monkeypatch, real_lr_clip):
    """What the evaluate stage logs under its result run: ``mlflow.pytorch.load_model`` on
    ``runs:/<id>/model`` gives back a network whose output on real frames equals the DVC-tracked
    one's; the registry and the run's logged models list it, with its signature."""
    import torch

    from ssl_mm.models import SSLBasicVSRNet
    from ssl_mm.models.flow_cache import cache_flows
    from ssl_mm.pruning import load_network, save_network
    from ssl_mm.runtime import for_cpu_inference
    from ssl_mm.scoring import log_result

    monkeypatch.chdir(tmp_path)
    torch.manual_seed(0)
    save_network(SSLBasicVSRNet(8, 2, widths={'backward_resblocks.main.2.0.conv1.act_scale': 5}), tmp_path / 'models', 'finetuned')
    tracked_net = load_network(tmp_path / 'models' / 'finetuned.py', tmp_path / 'models' / 'finetuned.pth').eval()
    metrics = {'ssl': {'embedded_bi': {'psnr_y': 30.0}}, 'protocols': {}}
    (tmp_path / 'eval').mkdir()
    (tmp_path / 'eval' / 'metrics.json').write_text(json.dumps(metrics))
    # As the evaluate stage has it: channels-last for the CPU and its flow cache patched in (in place).
    evaluated = cache_flows(for_cpu_inference(load_network(tmp_path / 'models' / 'finetuned.py',
                                                           tmp_path / 'models' / 'finetuned.pth')), tmp_path / 'flows')
    with stage_run('evaluate_ssl@bi-0.5-0', {}, {'kind': 'result'}, root=tmp_path) as run:
        log_result(metrics, 'ssl', {'gmacs': 1.0}, tmp_path / 'eval', {'ssl': evaluated})
    mlflow.set_tracking_uri(tracking_uri(tmp_path))
    loaded = mlflow.pytorch.load_model(f'runs:/{run.info.run_id}/model')
    with torch.no_grad():
        assert torch.equal(loaded(real_lr_clip), tracked_net(real_lr_clip))
    [model] = MlflowClient().search_logged_models(
        experiment_ids=[run.info.experiment_id], filter_string=f"source_run_id = '{run.info.run_id}'")
    assert model.name == 'model'
    signature = mlflow.models.get_model_info(f'runs:/{run.info.run_id}/model').signature
    assert tuple(signature.inputs.to_dict()[0]['tensor-spec']['shape']) == (-1, -1, 3, -1, -1)
