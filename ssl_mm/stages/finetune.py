"""Stage finetune: train a pruned network (Charbonnier, plus lambda_tf * Temporal Finetuning
against the frozen sparsified teacher; lambda_tf = 0 is the released code). Methods without a
sparsity search (L1-norm) finetune for the search's iterations too: same budget for all."""
from mmengine.config import Config

from ..errors import exit_on_user_error
from ..pruning.checkpoint import load_network, save_network
from ..tracking import stage_run
from .common import (configured_iters, editor_of, file_digest, generator_of, record_training, run_training,
                     set_iterations, training_stage, work_dir)
from .datasets import dataset_tag
from .methods import FINETUNED, METHODS, method_argument, model_dir, pruned_network


def lambda_tf(method: str, params: dict) -> float:
    return params['baselines']['tf_lambda'] if method == 'ssl_tf' else params['finetune']['lambda_tf']


def main() -> None:
    method = method_argument(FINETUNED, __doc__, default='ssl')
    params, cfg = training_stage('finetune', __spec__.name)
    p, owner = params['finetune'], METHODS[method].pruned_by or method  # whose pruned model
    if METHODS[owner].search is None:
        set_iterations(cfg, configured_iters('finetune', params) + configured_iters('sparsify', params))
    pruned = pruned_network(method)
    teacher = model_dir(owner) / 'sparsified' if METHODS[owner].search else None
    cfg.model.generator = Config.fromfile(f'{pruned}.py').model
    cfg.model.lambda_tf = lambda_tf(method, params)
    work = work_dir(f'finetune_{method}', cfg.pretty_text, p, file_digest(f'{pruned}.pth'),
                    file_digest(f'{teacher}.pth') if teacher else None)

    def attach_teacher(runner) -> None:
        if cfg.model.lambda_tf > 0:
            if teacher is None:
                raise ValueError(f'{method}: Temporal Finetuning needs a sparsified teacher; this method has none')
            editor_of(runner).set_teacher(load_network(f'{teacher}.py', f'{teacher}.pth'))

    tags = {'profile': params['profile'], 'method': method, 'prune_ratio': params['prune']['ratio'],
            'lambda_tf': cfg.model.lambda_tf, 'dataset': dataset_tag(params)}
    with stage_run(f'finetune@{method}', {**p, 'lambda_tf': cfg.model.lambda_tf}, tags) as run:
        runner = run_training(cfg, work, load_from=f'{pruned}.pth', setup=attach_teacher)
        if run is None:
            return
        save_network(generator_of(runner), model_dir(method), 'finetuned',
                     meta=dict(stage='finetune', method=method, lambda_tf=cfg.model.lambda_tf))
        record_training(runner, work, f'finetune/{method}', ('train/loss_pix', 'train/loss_tf', 'val/PSNR'))


if __name__ == '__main__':
    exit_on_user_error(main)()
