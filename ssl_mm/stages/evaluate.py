"""Stage evaluate: one cell's networks on every requested test set under its protocol, and the
cell's MLflow *result* run (flat metric names, the cell as params) that the MLflow UI compares.

    evaluate dense [--degradation D]                       Bicubic and the dense network
    evaluate <method> --ratio R --seed S [--degradation D] the method's final network (SSL: also sparsified, and pruned before finetuning)

A cell scores the sets of evaluate.sets with its own degradation's LR (bi: *_bi and REDS4, bd:
*_bd). Sets that are not available are recorded as such. SPyNet flows are shared through a cache
(``ssl_mm.models.flow_cache``): the networks of one seed share the dense model's SPyNet."""
import json
from pathlib import Path

import pandas as pd

from ..errors import DataError, named_as
from ..eval import PROTOCOLS
from ..eval.benchmark_sets import degradation_of, load_test_set
from ..eval.evaluate import bicubic_upscaler, evaluate, network_upscaler, write_results
from ..flops import complexity
from ..models.flow_cache import cache_flows
from ..pruning import load_network
from ..runtime import for_cpu_inference, keep_freed_memory_for_reuse
from ..tracking import log_record, stage_run, tracked
from .common import PARAMS_FILE, load_params, run_stage, write_json
from .datasets import ROOT_KEYS
from .methods import METHODS, SSL_STEPS, Cell, cell_argument, lambda_tf


def networks(cell: Cell) -> dict[str, Path | None]:
    """Evaluated name -> path stem of its network (None: Bicubic); the first is the cell's own."""
    if cell.method == 'dense':
        return {'dense': cell.network('dense'), 'bicubic': None}
    nets = {cell.method: cell.final_network()}
    if cell.method == 'ssl':
        nets.update({name: cell.network(kind) for name, (kind, _) in SSL_STEPS.items()})
    return nets


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


def log_result(metrics: dict, own: str, cost: dict, out: Path) -> None:
    """Write ``out``/cost.json and log the result run (:func:`result_metrics`, ``out`` as artifacts)."""
    write_json(out / 'cost.json', cost)
    log_record(result_metrics(metrics, own, cost), out / 'metrics.json', out / 'cost.json')
    tracked.log_artifacts(str(out), 'eval')


def main() -> None:
    cell = cell_argument(['dense', *METHODS], __doc__)
    params = load_params()
    keep_freed_memory_for_reuse()
    nets = {name: load_network(f'{path}.py', f'{path}.pth') for name, path in networks(cell).items() if path}
    upscalers = {name: network_upscaler(cache_flows(for_cpu_inference(net))) for name, net in nets.items()}
    if cell.method == 'dense':
        upscalers['bicubic'] = bicubic_upscaler()
    result = {'method': cell.method, 'prune_ratio': cell.ratio or 0.0, 'seed': cell.seed,
              'degradation': cell.degradation,
              'lambda_tf': lambda_tf(cell.method, params),
              'profile': params['profile']}
    tags = {'kind': 'result', 'profile': params['profile'], **cell.mlflow_tags}
    with stage_run(cell.stage_name('evaluate'), result, tags):
        metrics = score_sets(upscalers, cell.degradation, params, cell.eval_dir)
        log_result(metrics, cell.method, cost_metrics(cell, nets[cell.method]), cell.eval_dir)


if __name__ == '__main__':
    run_stage(main)
