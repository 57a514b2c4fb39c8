"""Stage evaluate: one cell's networks on every requested test set under its protocol, and the
cell's MLflow *result* run (flat metric names, the cell as params) that the MLflow UI compares.

    evaluate dense [--degradation D]                       Bicubic and the dense network
    evaluate <method> --ratio R --seed S [--degradation D] the method's final network (SSL: also sparsified, and pruned before finetuning)

A cell scores the sets of evaluate.sets with its own degradation's LR (bi: *_bi and REDS4, bd:
*_bd). Sets that are not available are recorded as such. SPyNet flows are shared through a cache
(``ssl_mm.models.flow_cache``): the networks of one seed share the dense model's SPyNet."""
from pathlib import Path

from ..cells import METHODS, SSL_STEPS, UNDER_TEST, Cell, cell_argument, lambda_tf
from ..eval.evaluate import bicubic_upscaler, network_upscaler
from ..models.flow_cache import cache_flows
from ..params import load_params
from ..pruning import load_network
from ..runtime import for_cpu_inference, keep_freed_memory_for_reuse
from ..scoring import cost_metrics, log_result, score_sets
from ..tracking import stage_run
from . import run_stage


def networks(cell: Cell) -> dict[str, Path | None]:
    """Evaluated name -> path stem of its network (None: Bicubic); the first is the cell's own."""
    if cell.method == 'dense':
        return {'dense': cell.network('dense'), 'bicubic': None}
    nets = {cell.method: cell.final_network()}
    if cell.method == UNDER_TEST:
        nets.update({name: cell.network(kind) for name, (kind, _) in SSL_STEPS.items()})
    return nets


def main() -> None:
    """Score the cell's networks (and, for the dense cell, Bicubic) on every set of its degradation;
    write its metrics, per-clip and per-set CSVs, and its MLflow result run."""
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
        log_result(metrics, cell.method, cost_metrics(cell, nets[cell.method]), cell.eval_dir,
                   nets if params['tracking']['log_models'] else None)


if __name__ == '__main__':
    run_stage(main)
