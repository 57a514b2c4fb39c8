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

DVC runs every stage in its own process, so the parent run id is kept in
``work_dirs/mlflow_pipeline_run`` while the pipeline runs; the ``report`` stage (the last) closes
it, and the next ``dvc repro`` opens a new one. Each stage run logs only its own params group,
so re-running a stage never hits MLflow's write-once params.
"""
from __future__ import annotations

import contextlib
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Iterator

import mlflow
from mlflow.tracking import MlflowClient
from mmagic.registry import VISBACKENDS
from mmengine.visualization import BaseVisBackend

from .errors import TrackingError
from .runtime import is_rank_zero

EXPERIMENT = 'ssl-mm'


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


def setup(root: Path = Path('.')) -> str:
    """Point MLflow at ``MLFLOW_TRACKING_URI`` when set, else at the repository's local store;
    returns the experiment id (created on first use, tagged for the training-runs view)."""
    root = root.resolve()
    remote = os.environ.get('MLFLOW_TRACKING_URI', '').strip()
    uri = remote or tracking_uri(root)
    try:
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
    except Exception as err:  # sqlite/alembic/HTTP errors: name the store and the fix
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else ''
        if remote:
            first_line = first_line.replace(remote, _redacted(remote))
        cause = f'{type(err).__name__}: {first_line}'
        if remote:
            raise TrackingError(f'MLFLOW_TRACKING_URI={_redacted(remote)}: MLflow tracking store not usable ({cause}); '
                                f'start the server or fix the URI, or unset MLFLOW_TRACKING_URI to track '
                                f'into {root / "mlflow.db"}') from err
        raise TrackingError(f'{root / "mlflow.db"}: MLflow store not usable ({cause}); '
                            f'make {root} writable, or delete the file to start a new store') from err


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
    non-zero ranks of a distributed stage: only rank 0 tracks)."""
    if not is_rank_zero():
        yield None
        return
    experiment_id = setup(root)
    tags = {'git_commit': git_commit(root), **{k: str(v) for k, v in tags.items()}}
    parent = _pipeline_run(root.resolve(), experiment_id, tags)
    with mlflow.start_run(experiment_id=experiment_id, run_name=stage, parent_run_id=parent,
                          tags={**tags, 'stage': stage}) as run:
        mlflow.log_params(flatten(params))
        yield run


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
            mlflow.log_text(config.pretty_text, 'config.py')

    def add_scalar(self, name, value, step=0, **kwargs) -> None:
        self.add_scalars({name: value}, step)

    def add_scalars(self, scalar_dict, step=0, file_path=None, **kwargs) -> None:
        if mlflow.active_run():
            mlflow.log_metrics({k: float(v) for k, v in scalar_dict.items()}, step=step)
