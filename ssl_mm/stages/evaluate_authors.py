"""Stage evaluate_authors: one of the SSL authors' pruned checkpoints that params.yaml names
(``authors.checkpoints.<name>``), converted as ``ssl-mm import`` converts it and scored beside this
run's models: the test sets of its degradation, its params, MACs and CPU speed-up against a dense
BasicVSR of its size (time and MACs do not depend on the weights), and an MLflow result run
(method ``ssl_authors``).

    python -m ssl_mm.stages.evaluate_authors NAME
"""
import argparse

from ..cells import AUTHORS, AuthorsModel
from ..errors import ParamsError
from ..eval.evaluate import network_upscaler
from ..flops import cost_against_dense
from ..models import SSLBasicVSRNet
from ..models.authors_pruned import authors_pruned_network
from ..models.foreign import local_file
from ..params import PARAMS_FILE, load_params
from ..pruning import save_network
from ..runtime import for_cpu_inference, keep_freed_memory_for_reuse
from ..scoring import cost_row, log_result, score_sets
from ..tracking import stage_run
from . import run_stage


def removed_fraction(net: SSLBasicVSRNet) -> float:
    """The prune ratio as ssl-mm defines it: the fraction of scale entries removed."""
    kept = {**net.full_widths, **net.arch['widths']}
    return 1 - sum(kept.values()) / sum(net.full_widths.values())


def main() -> None:
    """Convert one of the SSL authors' released pruned models (authors.checkpoints NAME), score it
    on the sets of its degradation, and cost it against the dense network."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('name', help='a key of authors.checkpoints in params.yaml')
    name = parser.parse_args().name
    params = load_params()
    entries = params['authors']['checkpoints']
    if name not in entries:
        raise ParamsError(f'{PARAMS_FILE}: authors.checkpoints has no entry {name!r} (it has {sorted(entries)}); '
                          f'run dvc repro, which passes the names params.yaml lists')
    model = AuthorsModel(name, entries[name]['degradation'])
    path = local_file(entries[name]['path'], f'authors.checkpoints.{name}.path')
    net = authors_pruned_network(path)
    ratio = round(removed_fraction(net), 4)
    keep_freed_memory_for_reuse()
    result = {'method': AUTHORS, 'checkpoint': name, 'prune_ratio': ratio, 'degradation': model.degradation,
              'profile': params['profile']}
    tags = {'kind': 'result', 'profile': params['profile'], 'method': AUTHORS, 'prune_ratio': ratio,
            'degradation': model.degradation}
    with stage_run(model.stage_name(), result, tags):
        save_network(net, model.dir, model.network().name, meta=dict(source=str(path), origin='ssl_authors'))
        dense = SSLBasicVSRNet(**{**net.arch, 'widths': {}})
        measured = cost_against_dense(dense, net, params['speed'])
        cost = {**cost_row(measured['model'], measured['mac_ratio'], measured['cpu_speedup']), 'prune_ratio': ratio}
        metrics = score_sets({AUTHORS: network_upscaler(for_cpu_inference(net))}, model.degradation, params,
                             model.eval_dir)
        log_result(metrics, AUTHORS, cost, model.eval_dir, {AUTHORS: net} if params['tracking']['log_models'] else None)


if __name__ == '__main__':
    run_stage(main)
