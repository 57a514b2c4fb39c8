"""Stage prune: pick the units to remove (SSL/ASSL: the penalised set of the search, or a
re-ranking as the released code; L1-norm: the lowest weight-L1 filters of each layer of the
dense model), fold the scales and slice the network; export it (MMagic config, ONNX); measure
params, MACs and CPU latency against the dense network."""
import mlflow
import torch

from ..errors import exit_on_user_error
from ..export import export_onnx
from ..flops import cost_against_dense
from ..pruning import final_pruned_set, kept_fraction, load_network, pick_pruned, prune, save_network
from ..tracking import stage_run
from .common import load_params, write_json
from .methods import METHODS, PRUNED, method_argument, model_dir

def main() -> None:
    method = method_argument(PRUNED, __doc__, default='ssl')
    params = load_params()
    p, spec = params['prune'], METHODS[method]
    dense = load_network('models/dense.py', 'models/dense.pth').eval()
    tags = {'profile': params['profile'], 'method': method, 'prune_ratio': p['ratio']}
    with stage_run(f'prune@{method}', p, tags):
        if spec.search is not None:
            net = load_network(model_dir(method) / 'sparsified.py', model_dir(method) / 'sparsified.pth').eval()
            state = torch.load(model_dir(method) / 'sparsify_state.pt', map_location='cpu', weights_only=True)
            pruned_set = final_pruned_set(net, state, p['final_pick'])
        else:
            net = dense
            pruned_set = pick_pruned(net, p['ratio'], **spec.pick)
        compact = prune(net, pruned=pruned_set, round_to=p['round_to'])
        save_network(compact, model_dir(method), 'pruned', meta=dict(stage='prune', method=method, ratio=p['ratio']))
        # Exported for use outside this repository: <name>_mmagic.py (MMagic's init_model) and ONNX.
        onnx_diff = export_onnx(compact, model_dir(method) / 'pruned.onnx', frames=3, lr_size=(64, 64))
        metrics = {'kept_unit_fraction': kept_fraction(pruned_set), 'onnx_max_abs_diff': onnx_diff,
                   **cost_against_dense(dense, compact)}
        write_json(f'metrics/prune/{method}.json', metrics)
        write_json(f'metrics/kept_channels/{method}.json', {
            'full': net.full_widths, 'kept': {**net.full_widths, **compact.arch['widths']}})
        mlflow.log_metrics({'kept_unit_fraction': metrics['kept_unit_fraction'],
                            'mac_ratio': metrics['mac_ratio'], 'cpu_speedup': metrics['cpu_speedup'],
                            'pruned_params': metrics['model']['params_total'],
                            'pruned_gmacs': metrics['model']['macs_total'] / 1e9})
        mlflow.log_artifact(str(model_dir(method) / 'pruned.py'))


if __name__ == '__main__':
    exit_on_user_error(main)()
