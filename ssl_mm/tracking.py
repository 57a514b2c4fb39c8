"""MLflow tracking: one parent run per pipeline execution, one nested run per stage.

By default local and server-less: a SQLite backend (``mlflow.db``) and an artifact folder
(``mlruns/``) at the repository root, both git-ignored. ``mlflow ui --backend-store-uri
sqlite:///mlflow.db`` shows the runs; runs of different prune ratios sit in one table of
experiment ``ssl-mm``. With ``MLFLOW_TRACKING_URI`` set (a team's ``mlflow server``, e.g.
``http://host:5000``) the runs go there instead and the server chooses where artifacts are kept.
The experiment is tagged as a model-training experiment (``mlflow.experimentKind``). MLflow
3.17's UI opens an experiment on the GenAI overview (traces, tokens) unless the browser is in its
"Model training" mode (sidebar switch) or the link carries ``?workflowType=machine_learning``:
``http://127.0.0.1:5000/#/experiments/<id>/runs?workflowType=machine_learning``.

Tracking never costs work. A tracking server is checked when a stage starts, with bounded HTTP
timeouts and retries (``STARTUP_HTTP``): an unreachable or failing one is named in one line within
seconds, before anything is written. During the stage, logging is best-effort (:data:`tracked`):
if the server stops answering, the stage warns once, in one line, stops calling it, and finishes
its work; DVC's metrics files stay the record, and ``ssl-mm tracking sync``
(:mod:`ssl_mm.tracking_sync`) re-logs whatever MLflow missed.

DVC runs every stage in its own process, so the parent run id is kept in
``work_dirs/mlflow_pipeline_run`` while the pipeline runs; the ``report`` stage (the last) closes
it, and the next ``dvc repro`` opens a new one. Each stage run logs only its own params group,
so re-running a stage never hits MLflow's write-once params.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

import mlflow
from mlflow.tracking import MlflowClient
from mmagic.registry import VISBACKENDS
from mmengine.visualization import BaseVisBackend

from .errors import TrackingError
from .runtime import is_rank_zero

EXPERIMENT = 'ssl-mm'
RECORD_TAG = 'dvc_record_md5'  # the digest of the DVC metrics file(s) a run logged: what `tracking sync` checks

# MLflow's HTTP defaults retry 7 times with backoff (about 4 minutes per call against a dead server).
# The start-up check gives up within ~12 s (two tries of at most 5 s); a stage's later calls within
# ~35 s, once: after a failure the stage stops tracking. A user's own MLFLOW_HTTP_* settings win
# during the stage, not for the start-up check.
_HTTP = ('MLFLOW_HTTP_REQUEST_MAX_RETRIES', 'MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR', 'MLFLOW_HTTP_REQUEST_BACKOFF_JITTER',
         'MLFLOW_HTTP_REQUEST_TIMEOUT')
STARTUP_HTTP = dict(zip(_HTTP, ('1', '1', '0', '5')))
STAGE_HTTP = dict(zip(_HTTP, ('2', '1', '0', '10')))


# MLflow 3's experiment kind: 'custom_model_development' ("Machine learning": runs table) or
# 'genai_development' (GenAI overview). The UI's experiment-type selector writes this tag, and its
# view follows it where the UI's per-browser GenAI / Model training switch is off (it is on in 3.17).
EXPERIMENT_KIND_TAG = 'mlflow.experimentKind'
EXPERIMENT_KIND = 'custom_model_development'


def tracking_uri(root: Path) -> str:
    """The repository's local store (the default when ``MLFLOW_TRACKING_URI`` is not set)."""
    return f'sqlite:///{(root / "mlflow.db").resolve()}'


def _redacted(uri: str) -> str:
    """``uri`` without a password (``http://user:secret@host`` -> ``http://user:***@host``)."""
    return re.sub(r'^([a-zA-Z][\w+.-]*://[^/:@]*):[^/@]*@', r'\1:***@', uri)


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def setup(root: Path = Path('.')) -> str:
    """Point MLflow at ``MLFLOW_TRACKING_URI`` when set, else at the repository's local store;
    returns the experiment id (created on first use, tagged for the training-runs view). A store
    that cannot be used is named in one line (:class:`TrackingError`) within seconds."""
    root = root.resolve()
    remote = os.environ.get('MLFLOW_TRACKING_URI', '').strip()
    uri = remote or tracking_uri(root)
    try:
        with _environment(STARTUP_HTTP):
            return _open_experiment(root, remote, uri)
    except TrackingError:
        raise
    except Exception as err:  # sqlite/alembic/HTTP errors: name the store and the fix
        raise _unusable(root, remote, err) from err


def _open_experiment(root: Path, remote: str, uri: str) -> str:
    """The experiment id in the store at ``uri`` (created on first use)."""
    if not remote and (root / 'mlflow.db').exists() and not (root / 'mlflow.db').is_file():
        # MLflow would retry opening it for about 100 s before giving up
        raise IsADirectoryError('not a file')
    mlflow.set_tracking_uri(uri)
    if not remote:
        # set_tracking_uri also exports MLFLOW_TRACKING_URI for subprocesses: undone for the
        # local store, or a `dvc repro` started from this process (another repository root)
        # would take this store for a team server and track into it.
        os.environ.pop('MLFLOW_TRACKING_URI', None)
    experiment = mlflow.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        # Local store: artifacts next to mlflow.db. A tracking server (or any store given by
        # MLFLOW_TRACKING_URI) chooses its own artifact root (proxied or object storage).
        location = None if remote else (root / 'mlruns').as_uri()
        return mlflow.create_experiment(EXPERIMENT, artifact_location=location,
                                        tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND})
    if EXPERIMENT_KIND_TAG not in experiment.tags:  # created before the tag, or by hand
        MlflowClient().set_experiment_tag(experiment.experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
    return experiment.experiment_id


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else ''


def _unusable(root: Path, remote: str, err: Exception) -> TrackingError:
    first_line = _first_line(err)
    if remote:
        first_line = first_line.replace(remote, _redacted(remote))
    cause = f'{type(err).__name__}: {first_line}'
    if remote:
        return TrackingError(f'MLFLOW_TRACKING_URI={_redacted(remote)}: MLflow tracking store not usable ({cause}); '
                             f'start the server or fix the URI, or unset MLFLOW_TRACKING_URI to track '
                             f'into {root / "mlflow.db"}')
    return TrackingError(f'{root / "mlflow.db"}: MLflow store not usable ({cause}); '
                         f'make {root} writable, or delete the file to start a new store')


def git_commit(root: Path = Path('.')) -> str:
    try:
        return subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=root, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return 'unknown'


def flatten(params: dict, prefix: str = '') -> dict[str, str]:
    flat = {}
    for key, value in params.items():
        name = f'{prefix}{key}'
        if isinstance(value, dict):
            flat.update(flatten(value, f'{name}.'))
        else:
            flat[name] = str(value)
    return flat


def _pipeline_run(root: Path, experiment_id: str, tags: dict[str, str]) -> str:
    """The open parent run of this pipeline execution, or a new one."""
    marker = root / 'work_dirs' / 'mlflow_pipeline_run'
    client = MlflowClient()
    if marker.is_file():
        run_id = marker.read_text().strip()
        try:
            if client.get_run(run_id).info.status == 'RUNNING':
                return run_id
        except mlflow.exceptions.MlflowException:
            pass
    run = client.create_run(experiment_id, run_name=f'pipeline {time.strftime("%Y-%m-%d %H:%M:%S")}',
                            tags=tags)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(run.info.run_id)
    return run.info.run_id


@contextlib.contextmanager
def stage_run(stage: str, params: dict, tags: dict[str, str], root: Path = Path('.')) -> Iterator[mlflow.ActiveRun]:
    """A nested MLflow run for one stage, under the pipeline's parent run (``None`` on the
    non-zero ranks of a distributed stage: only rank 0 tracks). Opening it is the start-up check
    (one line, bounded wait); once open, every call through :data:`tracked` is best-effort."""
    if not is_rank_zero():
        yield None
        return
    experiment_id = setup(root)
    tags = {'git_commit': git_commit(root), **{k: str(v) for k, v in tags.items()}}
    try:
        with _environment(STARTUP_HTTP):
            parent = _pipeline_run(root.resolve(), experiment_id, tags)
            run = mlflow.start_run(experiment_id=experiment_id, run_name=stage, parent_run_id=parent,
                                   tags={**tags, 'stage': stage})
    except Exception as err:
        raise _unusable(root.resolve(), os.environ.get('MLFLOW_TRACKING_URI', '').strip(), err) from err
    logging.getLogger('urllib3').setLevel(logging.ERROR)  # its retry warnings: the one line below says it
    # For the rest of the process, not only this block: after a failure the run stays open, and
    # MLflow's own exit handler tries to end it (with its defaults, ~4 minutes against a dead server).
    for key, value in STAGE_HTTP.items():
        os.environ.setdefault(key, value)  # the user's own settings win
    try:
        tracked.log_params(flatten(params))
        yield run
    except KeyboardInterrupt:
        tracked.end_run('KILLED')
        raise
    except BaseException:
        tracked.end_run('FAILED')
        raise
    tracked.end_run()


class _BestEffort:
    """MLflow's fluent API (``tracked.log_metrics(...)``; any other MLflow function through
    ``tracked.call``), best-effort: the first call that fails prints one warning line and every
    later call of the process is skipped, so a tracking server that dies costs a stage one bounded
    wait (``STAGE_HTTP``) and none of its work."""

    def __init__(self) -> None:
        self.failed: Exception | None = None

    def call(self, function: Callable, *args, **kwargs):
        if self.failed is not None:
            return None
        try:
            return function(*args, **kwargs)
        except Exception as err:  # HTTP, SQL, or anything else of the store's
            self.failed = err
            uri = mlflow.get_tracking_uri()
            cause = _first_line(err).replace(uri, _redacted(uri))[:200]
            print(f'warning: MLflow tracking at {_redacted(uri)} failed ({type(err).__name__}: {cause}); '
                  'this stage goes on untracked and keeps its results: once the store is back, run '
                  '`ssl-mm tracking sync` to log what it missed', file=sys.stderr, flush=True)
            return None

    def __getattr__(self, name: str):
        return functools.partial(self.call, getattr(mlflow, name))


tracked = _BestEffort()


def numeric(metrics: dict, prefix: str = '') -> dict[str, float]:
    """The numbers of ``metrics`` (nested dicts flattened to ``a.b`` names), as MLflow metrics."""
    out = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            out.update(numeric(value, f'{prefix}{key}.'))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[f'{prefix}{key}'] = float(value)
    return out


def record_digest(*files: Path) -> str:
    """The digest of the DVC record ``files`` (metrics JSONs a stage wrote)."""
    digest = hashlib.md5()
    for path in files:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()


def log_record(metrics: dict[str, float], *files: Path) -> None:
    """Log ``metrics`` to the stage's run and tag it with the digest of the DVC record ``files``
    they come from (already written): ``ssl-mm tracking sync`` re-logs any record that no
    finished run carries."""
    tracked.log_metrics(metrics)
    tracked.set_tag(RECORD_TAG, record_digest(*files))


def log_network(original, name: str = 'model') -> None:
    """Log ``original`` as an MLflow Model (pytorch flavour) named ``name`` under the active run, so
    the registry and ``mlflow.pytorch.load_model(f'runs:/{run_id}/{name}')`` reach it. Pickled
    (not torch.export's pt2, which fixes the clip's frame count and size; loading it needs
    ssl_mm importable, and unpickles: load from a store you trust. The DVC-tracked .pth, read
    by ``ssl-mm``'s allow-list loader, stays the safe way in). The signature is any LR clip
    (batch, frames, 3, height, width) to its x4 output; the example is a small real-valued clip.
    Best-effort, like every call of a stage's run."""
    import mlflow.pytorch  # ~1 s; only stages that log networks pay it
    import numpy as np
    import torch
    from mlflow.models import ModelSignature
    from mlflow.types import Schema, TensorSpec

    clip = (-1, -1, 3, -1, -1)
    signature = ModelSignature(Schema([TensorSpec(np.dtype(np.float32), clip)]),
                               Schema([TensorSpec(np.dtype(np.float32), clip)]))
    example = torch.rand(1, 2, 3, 16, 16, generator=torch.Generator().manual_seed(0)).numpy()
    requirements = [f'torch=={torch.__version__.split("+")[0]}', *(f'{p}=={_version(p)}' for p in ('mmagic', 'mmengine'))]
    # Rebuilt from its architecture and weights alone, as the DVC file loads: evaluation turns a
    # network channels-last and patches its flow cache in, which change the output's last bit.
    net = type(original)(**original.arch)
    net.load_state_dict(original.state_dict())
    net.eval()
    tracked.call(mlflow.pytorch.log_model, net, name=name, serialization_format='pickle', signature=signature,
                              input_example=example, pip_requirements=requirements)


def _version(package: str) -> str:
    from importlib.metadata import version
    return version(package)


def finish_pipeline_run(root: Path = Path('.')) -> None:
    marker = root / 'work_dirs' / 'mlflow_pipeline_run'
    if marker.is_file():
        setup(root)
        MlflowClient().set_terminated(marker.read_text().strip(), 'FINISHED')
        marker.unlink()


@VISBACKENDS.register_module()
class MLflowActiveRunBackend(BaseVisBackend):
    """Sends the Runner's scalars (loss, lr, penalty, val PSNR, ...) to the MLflow run the stage
    opened, with the iteration as step. MMEngine's own MLflowVisBackend opens and ends a run of
    its own, which would break the parent/stage nesting. Without an active run it does nothing."""

    def __init__(self, save_dir: str | None = None) -> None:
        super().__init__(save_dir or '.')

    def _init_env(self) -> None:  # nothing to set up: the stage owns the run
        pass

    @property
    def experiment(self):
        return mlflow

    def add_config(self, config, **kwargs) -> None:
        if mlflow.active_run():
            tracked.log_text(config.pretty_text, 'config.py')

    def add_scalar(self, name, value, step=0, **kwargs) -> None:
        self.add_scalars({name: value}, step)

    def add_scalars(self, scalar_dict, step=0, file_path=None, **kwargs) -> None:
        if mlflow.active_run():
            tracked.log_metrics({k: float(v) for k, v in scalar_dict.items()}, step=step)
