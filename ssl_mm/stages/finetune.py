"""Stage finetune: train the pruned network (Charbonnier, plus lambda_tf * Temporal Finetuning
against the frozen sparsified teacher; lambda_tf = 0 is the released code)."""
import mlflow
from mmengine.config import Config

from ..pruning.checkpoint import load_network, save_network
from ..tracking import stage_run
from .common import (editor_of, file_digest, generator_of, last_scalars, run_training, training_stage, work_dir,
                     write_json)
from .datasets import dataset_tag


def main() -> None:
    params, cfg = training_stage('finetune', __spec__.name)
    p = params['finetune']
    cfg.model.generator = Config.fromfile('models/pruned.py').model
    cfg.model.lambda_tf = p['lambda_tf']
    work = work_dir('finetune', cfg.pretty_text, p, file_digest('models/pruned.pth'),
                    file_digest('models/sparsified.pth'))

    def attach_teacher(runner) -> None:
        if p['lambda_tf'] > 0:
            editor_of(runner).set_teacher(load_network('models/sparsified.py', 'models/sparsified.pth'))

    tags = {'profile': params['profile'], 'prune_ratio': params['prune']['ratio'],
            'lambda_tf': p['lambda_tf'], 'dataset': dataset_tag(params)}
    with stage_run('finetune', p, tags) as run:
        runner = run_training(cfg, work, load_from='models/pruned.pth', setup=attach_teacher)
        if run is None:
            return
        save_network(generator_of(runner), 'models', 'finetuned',
                     meta=dict(stage='finetune', lambda_tf=p['lambda_tf']))
        metrics = last_scalars(runner, 'train/loss', 'train/loss_pix', 'train/loss_tf', 'val/PSNR')
        metrics['iters'] = runner.max_iters
        write_json('metrics/finetune.json', metrics)
        mlflow.log_metrics(metrics)


if __name__ == '__main__':
    main()
