"""A network's scores and the numbers the tables and MLflow show for it: every test set of its
degradation under the set's protocol (sets not on this machine recorded as such), its cost
columns (params, MACs per LR frame at 180x320, MAC ratio, CPU speed-up), and its MLflow result
run. Used by the evaluate and evaluate_authors stages and by ``ssl-mm tracking sync``."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .cells import Cell
from .errors import DataError, named_as
from .eval import PROTOCOLS
from .eval.benchmark_sets import degradation_of, load_test_set
from .eval.evaluate import evaluate, write_results
from .flops import complexity
from .io import write_json
from .params import PARAMS_FILE
from .profiles import ROOT_KEYS
from .tracking import log_network, log_record, tracked


def cost_row(model: dict, mac_ratio: float, cpu_speedup: float) -> dict[str, float]:
    """The cost columns of the tables and the MLflow result run, from ``flops.complexity`` numbers."""
    return {'params_m': model['params_without_spynet'] / 1e6, 'gmacs': model['macs_total'] / 1e9,
            'gmacs_without_spynet': model['macs_total_without_spynet'] / 1e9, 'mac_ratio': mac_ratio,
            'cpu_speedup': cpu_speedup}


def cost_metrics(cell: Cell, net) -> dict[str, float]:
    """Params, GMACs (per LR frame at 180x320), MAC ratio and CPU speed-up against the dense model."""
    if cell.method == 'dense':
        return cost_row(complexity(net), 1.0, 1.0)
    measured = json.loads(cell.cost_file().read_text())
    return cost_row(measured['model'], measured['mac_ratio'], measured['cpu_speedup'])


def score_sets(upscalers: dict, degradation: str, params: dict, out: Path) -> dict:
    """Score ``upscalers`` on every set of evaluate.sets made with ``degradation``'s LR; write
    metrics.json, per_clip.csv, per_set.csv and unavailable.json (sets not on this machine, and
    why) to ``out``; return the metrics."""
    p, data = params['evaluate'], params['data']
    protocols, frames, unavailable = {}, [], {}
    for name in [s for s in p['sets'] if degradation_of(s) == degradation]:  # a model meets its own LR
        try:
            with named_as(**ROOT_KEYS):
                clips = load_test_set(name, data['prepared'], data)
        except DataError as err:
            unavailable[name] = str(err)
            continue
        protocols[name] = PROTOCOLS[name].with_overrides(max_seq_len=p['max_seq_len'], max_frames=p['max_frames'])
        frames.append(evaluate(upscalers, clips, protocols[name]))
    if not frames:
        raise DataError(f'{PARAMS_FILE}: none of evaluate.sets is available for {degradation} models '
                        f'({unavailable or "no set of that degradation"}); add an available set')
    metrics = write_results(pd.concat(frames), out, protocols)
    write_json(out / 'unavailable.json', unavailable)
    return metrics


def result_metrics(metrics: dict, own: str, cost: dict) -> dict[str, float]:
    """A result run's metrics: the network's own under the flat names the MLflow UI charts
    (``vid4_bi_psnr_y``, ``gmacs``), the other networks' of its cell prefixed with their name."""
    out = {**{f'{s}_{k}': v for s, values in metrics[own].items() for k, v in values.items()}, **cost}
    for other in set(metrics) - {own, 'protocols'}:
        out.update({f'{other}.{s}_{k}': v for s, values in metrics[other].items() for k, v in values.items()})
    return out


def log_result(metrics: dict, own: str, cost: dict, out: Path, networks: dict | None = None) -> None:
    """Write ``out``/cost.json and log the result run (:func:`result_metrics`, ``out`` as artifacts,
    and each of ``networks`` as an MLflow Model: ``own``'s named ``model``, the others by name)."""
    write_json(out / 'cost.json', cost)
    log_record(result_metrics(metrics, own, cost), out / 'metrics.json', out / 'cost.json')
    tracked.log_artifacts(str(out), 'eval')
    for name, net in (networks or {}).items():
        log_network(net, 'model' if name == own else name)
