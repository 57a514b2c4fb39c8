"""Stage finetune: train a pruned network (Charbonnier, plus lambda_tf * Temporal Finetuning
against the frozen sparsified teacher; lambda_tf = 0 is the released code). Methods without a
sparsity search (L1-norm) finetune for the search's iterations too: same budget for all."""
from mmengine.config import Config

from ..cells import FINETUNED, METHODS, cell_argument, lambda_tf
from ..errors import ParamsError, named_as
from ..params import PARAMS_FILE
from ..profiles import dataset_tag
from ..pruning.checkpoint import load_network, save_network
from ..runtime import editor_of
from ..tracking import stage_run
from ..training.config import configured_iters, set_iterations, training_stage
from ..training.record import record_training
from ..training.resume import file_digest, run_training, work_dir
from . import run_stage


def main() -> None:
    """Finetune the owner's pruned network for the stage's budget (with Temporal Finetuning when the
    method's weight is set); write the finetuned network, metrics and loss curve."""
    cell = cell_argument(FINETUNED, __doc__)
    params, cfg = training_stage('finetune', __spec__.name, cell)
    p, owner = params['finetune'], cell.owner()  # whose pruned model
    if METHODS[owner.method].search is None:
        set_iterations(cfg, configured_iters('finetune', params) + configured_iters('sparsify', params))
    pruned = owner.network('pruned')
    teacher = owner.network('sparsified') if METHODS[owner.method].search else None
    cfg.model.generator = Config.fromfile(f'{pruned}.py').model
    cfg.model.lambda_tf = lambda_tf(cell.method, params)
    work = work_dir(f'finetune_{cell.method}', cfg.pretty_text, p, file_digest(f'{pruned}.pth'),
                    file_digest(f'{teacher}.pth') if teacher else None)

    def attach_teacher(runner) -> None:
        if cfg.model.lambda_tf > 0:
            if teacher is None:
                raise ParamsError(f'{PARAMS_FILE}: {METHODS[cell.method].lambda_tf_key}={cfg.model.lambda_tf} needs a '
                                  f'sparsified teacher and {cell.method} has none: set it to 0')
            editor_of(runner).set_teacher(load_network(f'{teacher}.py', f'{teacher}.pth'))

    tags = {'profile': params['profile'], **cell.mlflow_tags, 'lambda_tf': cfg.model.lambda_tf,
            'dataset': dataset_tag(params)}
    with stage_run(cell.stage_name('finetune'), {**p, 'lambda_tf': cfg.model.lambda_tf}, tags) as run:
        with named_as(lambda_tf=METHODS[cell.method].lambda_tf_key):  # TemporalFinetuneBasicVSR checks it
            runner = run_training(cfg, work, load_from=f'{pruned}.pth', setup=attach_teacher)
        if run is None:
            return
        save_network(editor_of(runner).generator, cell.dir, 'finetuned',
                     meta=dict(stage='finetune', method=cell.method, lambda_tf=cfg.model.lambda_tf))
        record_training(runner, work, cell.metrics('finetune'), cell.curve('finetune'),
                        ('train/loss_pix', 'train/loss_tf', 'val/PSNR'))


if __name__ == '__main__':
    run_stage(main)
