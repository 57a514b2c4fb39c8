"""What a training stage reports: the last values of its scalars and its iteration count (a
metrics JSON and MLflow), and its loss curve (a CSV for DVC plots)."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from mmengine.runner import Runner

from ..io import atomic_path, write_json
from ..tracking import log_record, numeric


def last_scalars(runner: Runner, *names: str) -> dict[str, float]:
    """The current value of each of ``names`` the message hub logged ('train/loss' as 'train_loss')."""
    hub = runner.message_hub
    out = {}
    for name in names:
        if name in hub.log_scalars:
            out[name.replace('/', '_')] = float(hub.get_scalar(name).current())
    return out


CURVE_COLUMNS = ('loss', 'loss_pix', 'loss_tf', 'ssl_lambda', 'ssl_picked_scale_mean', 'ssl_kept_scale_mean')


def write_training_curve(work: Path, path: str | Path) -> None:
    """The training scalars mmengine's LocalVisBackend logged (every logger interval) across all
    runs of this work dir (a resumed run adds a timestamped folder; later runs win on repeated
    iterations) as one CSV: ``step`` plus the columns of CURVE_COLUMNS that were logged."""
    rows = {}
    for scalars in sorted(work.glob('*/vis_data/scalars.json')):
        for line in scalars.read_text().splitlines():
            record = json.loads(line)
            if 'loss' in record:  # training records (validation ones carry PSNR instead)
                rows[record['step']] = {k: record[k] for k in CURVE_COLUMNS if k in record}
    table = pd.DataFrame.from_dict(rows, orient='index').sort_index().rename_axis('step')
    with atomic_path(path) as tmp:
        table.to_csv(tmp, float_format='%.6g')


def record_training(runner: Runner, work: Path, metrics_path: Path, curve_path: Path, scalars: tuple[str, ...],
                    extra: dict | None = None) -> dict:
    """A training stage's results: the last values of ``scalars`` and the iteration count (plus
    ``extra``) in ``metrics_path`` and MLflow, the loss curve in ``curve_path``."""
    metrics = {**last_scalars(runner, 'train/loss', *scalars), 'iters': runner.max_iters, **(extra or {})}
    write_json(metrics_path, metrics)
    write_training_curve(work, curve_path)
    log_record(numeric(metrics), metrics_path)
    return metrics
