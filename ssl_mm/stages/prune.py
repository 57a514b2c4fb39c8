"""Stage prune: pick the units to remove (SSL/ASSL: the penalised set of the search, or a
re-ranking as the released code; L1-norm: the lowest weight-L1 filters of each layer of the
dense model), fold the scales and slice the network; export it (MMagic config, ONNX); measure
params, MACs and CPU latency against the dense network."""
import torch

from ..cells import METHODS, PRUNED, Cell, cell_argument
from ..errors import named_as
from ..export import export_onnx
from ..flops import cost_against_dense
from ..io import write_json
from ..params import load_params
from ..pruning import final_pruned_set, kept_fraction, load_network, pick_pruned, prune, save_network
from ..tracking import log_record, numeric, stage_run, tracked
from . import run_stage


def pruned_units(cell: Cell, net, params: dict, align: int | None = None) -> dict:
    """The units the cell's method removes from ``net`` (aligned to ``prune.align``: the search
    picked its set so; ``align=1``: the same ratio ranked without alignment, for comparison);
    a bad value is reported by the params.yaml key it came from."""
    p, spec = params['prune'], METHODS[cell.method]
    with named_as(ratio=cell.ratios_key, final_pick='prune.final_pick', align='prune.align'):
        if spec.search is not None:
            state = torch.load(cell.dir / 'sparsify_state.pt', map_location='cpu', weights_only=True)
            if align is not None:
                return final_pruned_set(net, {**state, 'align': align}, 'rerank')
            return final_pruned_set(net, state, p['final_pick'])
        return pick_pruned(net, cell.ratio, **spec.pick, align=p['align'] if align is None else align)


def main() -> None:
    """Pick the units to remove (the search's set, or the dense model's L1-norm), cut the network,
    export it (MMagic config, ONNX) and cost it against the dense network."""
    cell = cell_argument(PRUNED, __doc__)
    params = load_params()
    p, spec, dense_path = params['prune'], METHODS[cell.method], cell.dense().network('dense')
    dense = load_network(f'{dense_path}.py', f'{dense_path}.pth').eval()
    tags = {'profile': params['profile'], **cell.mlflow_tags}
    with stage_run(cell.stage_name('prune'), {**p, 'ratio': cell.ratio}, tags):
        if spec.search is not None:
            searched = cell.network('sparsified')
            net = load_network(f'{searched}.py', f'{searched}.pth').eval()
        else:
            net = dense
        picked = pruned_units(cell, net, params)
        compact = prune(net, picked)
        save_network(compact, cell.dir, 'pruned', meta=dict(stage='prune', method=cell.method, ratio=cell.ratio))
        # Exported for use outside this repository: <name>_mmagic.py (MMagic's init_model) and ONNX.
        onnx_diff = export_onnx(compact, cell.dir / 'pruned.onnx', frames=3, lr_size=(64, 64))
        metrics = {'kept_unit_fraction': kept_fraction(picked), 'onnx_max_abs_diff': onnx_diff,
                   **cost_against_dense(dense, compact, params['speed'])}
        write_json(cell.metrics('prune'), metrics)
        widths = {'full': net.full_widths, 'kept': {**net.full_widths, **compact.arch['widths']}}
        if p['align'] > 1:  # what the same ratio keeps unaligned (the kept-channels figure shows both)
            widths['unaligned'] = {name: int((~mask).sum()) for name, mask in pruned_units(cell, net, params, 1).items()}
        write_json(cell.metrics('kept_channels'), widths)
        log_record(numeric(metrics), cell.metrics('prune'))
        tracked.log_artifact(str(cell.network('pruned')) + '.py')


if __name__ == '__main__':
    run_stage(main)
