"""Stage sparsify: SSL's regularised search from the dense model (penalty on the units picked
at the start, growing to a ceiling, then held). Writes the regularised network and the picked
set."""
import mlflow
import torch

from ..io import atomic_path
from ..pruning.checkpoint import save_network
from ..pruning.regularization import SSLRegularizationHook
from ..tracking import stage_run
from .common import (file_digest, generator_of, last_scalars, run_training, training_stage, work_dir,
                     write_json)
from .datasets import dataset_tag


def main() -> None:
    params, cfg = training_stage('sparsify', __spec__.name)
    p, ratio = params['sparsify'], params['prune']['ratio']
    [hook_cfg] = [h for h in cfg.custom_hooks if h['type'] == 'SSLRegularizationHook']
    hook_cfg['ratio'] = ratio
    hook_cfg.update({k: v for k, v in p.items() if k != 'iters' and v is not None})
    work = work_dir('sparsify', cfg.pretty_text, p, ratio, file_digest('models/dense.pth'))
    tags = {'profile': params['profile'], 'prune_ratio': ratio, 'dataset': dataset_tag(params)}
    with stage_run('sparsify', {**p, 'ratio': ratio}, tags) as run:
        runner = run_training(cfg, work, load_from='models/dense.pth')
        if run is None:
            return
        hook = next(h for h in runner.hooks if isinstance(h, SSLRegularizationHook))
        save_network(generator_of(runner), 'models', 'sparsified', meta=dict(stage='sparsify'))
        with atomic_path('models/sparsify_state.pt') as tmp:
            torch.save(hook.state_dict(), tmp)
        metrics = last_scalars(runner, 'train/loss', 'train/ssl_lambda', 'train/ssl_picked_scale_mean',
                               'train/ssl_kept_scale_mean', 'val/PSNR')
        metrics['iters'] = runner.max_iters
        write_json('metrics/sparsify.json', metrics)
        mlflow.log_metrics(metrics)


if __name__ == '__main__':
    main()
