"""``ssl-mm tracking sync``: log to the current MLflow store whatever a failed tracking server
missed, from DVC's metrics files, which are the record.

Every stage tags its run with the digest of the metrics file(s) it wrote
(:func:`ssl_mm.tracking.log_record`). Sync walks the files params.yaml's cells declare (the
training, prune and evaluate records; the evaluate ones as result runs, with the params and flat
metric names the live result runs have), and logs each file whose digest no FINISHED run carries,
under one parent run "tracking sync <time>". Running it again logs nothing new. Runs a failure
left RUNNING (a stage whose server died) are marked FAILED, except the open parent run of the
pipeline (``work_dirs/mlflow_pipeline_run``), which its report stage closes. Run it when no
pipeline is running.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

from .tracking import RECORD_TAG, flatten, numeric, record_digest, setup


@dataclass(frozen=True)
class Record:
    """One stage's record: the run it belongs to and what that run logs."""
    run_name: str
    files: tuple[Path, ...]
    metrics: dict[str, float]
    params: dict
    tags: dict


def records(params: dict) -> list[Record]:
    """Every record params.yaml's cells have on disk: train/sparsify/prune/finetune metrics and
    the evaluate result (metrics.json + cost.json)."""
    from .cells import STAGES, cells, lambda_tf
    from .scoring import result_metrics
    out = []
    for cell in cells(params):
        tags = {'profile': params['profile'], **cell.mlflow_tags}
        for stage in ('train', 'sparsify', 'prune', 'finetune'):
            path = cell.metrics(stage)
            if cell.method in STAGES[stage] and path.is_file():
                out.append(Record(cell.stage_name(stage), (path,), numeric(json.loads(path.read_text())), {}, tags))
        scores, cost = cell.eval_dir / 'metrics.json', cell.eval_dir / 'cost.json'
        if scores.is_file() and cost.is_file():
            result = {'method': cell.method, 'prune_ratio': cell.ratio or 0.0, 'seed': cell.seed,
                      'degradation': cell.degradation, 'profile': params['profile'],
                      'lambda_tf': lambda_tf(cell.method, params)}
            metrics = result_metrics(json.loads(scores.read_text()), cell.method, json.loads(cost.read_text()))
            out.append(Record(cell.stage_name('evaluate'), (scores, cost), metrics, result, {'kind': 'result', **tags}))
    return out


def _all_runs(client: MlflowClient, experiment_id: str) -> list:
    runs, token = [], None
    while True:
        page = client.search_runs([experiment_id], max_results=1000, page_token=token)
        runs += page
        token = page.token
        if not token:
            return runs


def sync(params: dict, root: Path = Path('.')) -> dict[str, int]:
    """Log the missing records; returns how many were logged, already there, and runs closed."""
    experiment_id = setup(root)
    client = MlflowClient()
    runs = _all_runs(client, experiment_id)
    marker = root / 'work_dirs' / 'mlflow_pipeline_run'
    open_pipeline = marker.read_text().strip() if marker.is_file() else None
    closed = 0
    for run in runs:
        if run.info.status == 'RUNNING' and run.info.run_id != open_pipeline:
            client.set_terminated(run.info.run_id, 'FAILED')
            closed += 1
    logged_digests = {run.data.tags.get(RECORD_TAG) for run in runs if run.info.status == 'FINISHED'}
    parent, logged, present = None, 0, 0
    for record in records(params):
        digest = record_digest(*record.files)
        if digest in logged_digests:
            present += 1
            continue
        if parent is None:
            parent = client.create_run(experiment_id, run_name=f'tracking sync {time.strftime("%Y-%m-%d %H:%M:%S")}',
                                       tags={'kind': 'sync'}).info.run_id
        tags = {**{k: str(v) for k, v in record.tags.items()}, 'stage': record.run_name, RECORD_TAG: digest,
                'synced_from': ' '.join(map(str, record.files)), 'mlflow.parentRunId': parent}
        run_id = client.create_run(experiment_id, run_name=record.run_name, tags=tags).info.run_id
        now = int(time.time() * 1000)
        client.log_batch(run_id, metrics=[Metric(k, v, now, 0) for k, v in record.metrics.items()],
                         params=[Param(k, v) for k, v in flatten(record.params).items()],
                         tags=[RunTag('mlflow.runName', record.run_name)])
        client.set_terminated(run_id, 'FINISHED')
        logged_digests.add(digest)
        logged += 1
    if parent is not None:
        client.set_terminated(parent, 'FINISHED')
    return {'logged': logged, 'already_logged': present, 'closed_as_failed': closed}
