"""Stage sparsify: the regularised search from the dense model (penalty on the units picked at
the start, growing to a ceiling, then held), for SSL (RSC: every block picks its own channels)
or ASSL-style (hidden-state channels aligned across the blocks of a branch). Writes the
regularised network and the picked set."""
import torch
from mmengine.config import Config

from ..cells import METHODS, SEARCHED, cell_argument
from ..errors import named_as
from ..io import atomic_path
from ..profiles import dataset_tag
from ..pruning.checkpoint import save_network
from ..pruning.regularization import SSLRegularizationHook
from ..runtime import editor_of
from ..tracking import stage_run
from ..training.config import training_stage
from ..training.record import record_training
from ..training.resume import file_digest, run_training, work_dir
from . import run_stage


def main() -> None:
    """Run the regularised search from the dense model; write the sparsified network, the penalty
    state (the picked set) and the loss curve."""
    cell = cell_argument(SEARCHED, __doc__)
    params, cfg = training_stage('sparsify', __spec__.name, cell)
    p, dense = params['sparsify'], cell.dense().network('dense')
    cfg.model.generator = Config.fromfile(f'{dense}.py').model  # the dense network's own (activation too)
    [hook_cfg] = [h for h in cfg.custom_hooks if h['type'] == 'SSLRegularizationHook']
    hook_cfg.update(ratio=cell.ratio, align=params['prune']['align'], **METHODS[cell.method].search)
    hook_cfg.update({k: v for k, v in p.items() if k != 'iters' and v is not None})
    work = work_dir(f'sparsify_{cell.method}', cfg.pretty_text, p, cell.ratio, file_digest(f'{dense}.pth'))
    tags = {'profile': params['profile'], **cell.mlflow_tags, 'dataset': dataset_tag(params)}
    with stage_run(cell.stage_name('sparsify'), {**p, 'ratio': cell.ratio}, tags) as run:
        # The hook validates its arguments: errors name the params.yaml keys they came from.
        with named_as(ratio=cell.ratios_key, align='prune.align', **{k: f'sparsify.{k}' for k in p if k != 'iters'}):
            runner = run_training(cfg, work, load_from=f'{dense}.pth')
        if run is None:
            return
        hook = next(h for h in runner.hooks if isinstance(h, SSLRegularizationHook))
        save_network(editor_of(runner).generator, cell.dir, 'sparsified', meta=dict(stage='sparsify'))
        with atomic_path(cell.dir / 'sparsify_state.pt') as tmp:
            torch.save(hook.state_dict(), tmp)
        record_training(runner, work, cell.metrics('sparsify'), cell.curve('sparsify'),
                        ('train/ssl_lambda', 'train/ssl_picked_scale_mean', 'train/ssl_kept_scale_mean', 'val/PSNR'))


if __name__ == '__main__':
    run_stage(main)
