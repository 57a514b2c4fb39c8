"""Stage train_dense: the unpruned SSL-BasicVSR (learnable scales), trained from scratch
(SPyNet included: no pretrained weights are available offline)."""
import mlflow

from ..pruning.checkpoint import save_network
from ..tracking import stage_run
from .common import file_digest, generator_of, last_scalars, run_training, training_stage, work_dir, write_json
from .datasets import dataset_tag, train_meta_file


def main() -> None:
    params, cfg = training_stage('train_dense', __spec__.name)
    p = params['train_dense']
    work = work_dir('train_dense', cfg.pretty_text, p, file_digest(train_meta_file(params)))
    with stage_run('train_dense', p, {'profile': params['profile'], 'dataset': dataset_tag(params)}) as run:
        runner = run_training(cfg, work)
        if run is None:
            return
        save_network(generator_of(runner), 'models', 'dense', meta=dict(stage='train_dense'))
        metrics = last_scalars(runner, 'train/loss', 'val/PSNR')
        metrics['iters'] = runner.max_iters
        write_json('metrics/train_dense.json', metrics)
        mlflow.log_metrics(metrics)
        mlflow.log_artifact('models/dense.py')


if __name__ == '__main__':
    main()
