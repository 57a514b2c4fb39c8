"""Stage prune: remove the penalised units (or re-rank, as the released code), fold the scales
and slice the network; measure params, MACs and CPU latency of dense and pruned."""
import copy

import mlflow
import torch

from ..flops import (MAC_CONVENTION, PAPER_LR_SIZE, complexity, for_cpu_inference,
                     keep_freed_memory_for_reuse, latencies)
from ..pruning import final_pruned_set, kept_fraction, load_network, prune, save_network
from ..tracking import stage_run
from .common import load_params, write_json


def main() -> None:
    params = load_params()
    p = params['prune']
    with stage_run('prune', p, {'profile': params['profile'], 'prune_ratio': p['ratio']}):
        net = load_network('models/sparsified.py', 'models/sparsified.pth').eval()
        state = torch.load('models/sparsify_state.pt', map_location='cpu', weights_only=True)
        pruned_set = final_pruned_set(net, state, p['final_pick'])
        compact = prune(net, pruned=pruned_set, round_to=p['round_to'])
        save_network(compact, 'models', 'pruned', meta=dict(stage='prune', ratio=p['ratio']))

        keep_freed_memory_for_reuse()
        clip = torch.rand(1, 3, 3, *PAPER_LR_SIZE, generator=torch.Generator().manual_seed(0))
        models = {'dense': net, 'pruned': compact}
        secs = latencies({k: for_cpu_inference(copy.deepcopy(m)) for k, m in models.items()}, clip, repeats=3)
        metrics = {'kept_unit_fraction': kept_fraction(pruned_set), 'mac_convention':
                   MAC_CONVENTION.format(h=PAPER_LR_SIZE[0], w=PAPER_LR_SIZE[1])}
        for name, model in models.items():
            metrics[name] = {**complexity(model), 'cpu_seconds_per_frame': secs[name] / clip.shape[1]}
        metrics['mac_ratio'] = metrics['dense']['macs_total'] / metrics['pruned']['macs_total']
        metrics['cpu_speedup'] = secs['dense'] / secs['pruned']
        write_json('metrics/prune.json', metrics)
        write_json('metrics/kept_channels.json', {
            'full': net.full_widths, 'kept': {**net.full_widths, **compact.arch['widths']}})
        mlflow.log_metrics({'kept_unit_fraction': metrics['kept_unit_fraction'],
                            'mac_ratio': metrics['mac_ratio'], 'cpu_speedup': metrics['cpu_speedup'],
                            'pruned_params': metrics['pruned']['params_total'],
                            'pruned_gmacs': metrics['pruned']['macs_total'] / 1e9})
        mlflow.log_artifact('models/pruned.py')


if __name__ == '__main__':
    main()
