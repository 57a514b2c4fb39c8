"""Stage train_dense: the unpruned SSL-BasicVSR (learnable scales), trained from scratch (SPyNet
too, unless ``train_dense.spynet_pretrained`` names its weights) or from a trained BasicVSR
(``train_dense.init_from``: MMagic's or the SSL authors' checkpoint, converted; with ``iters: 0``
used as it is). ``train_dense.activation`` (auto: that of the weights' origin, ReLU otherwise)
is saved with the network, and every later stage builds from the saved config.

``train_dense dense`` trains the dense model (one per degradation, seed 0: every cell starts
from it). ``train_dense lite --ratio R
--seed S`` trains the BasicVSR-lite baseline the same way: the dense architecture narrowed (trunk
and HR head alike) until its MACs match the SSL-pruned network's at ratio R, for SSL's whole
budget (dense + sparsify + finetune iterations), with the dense model's SPyNet; from
``baselines.lite_init_from`` (a lite trained for the dense model's iterations) every seed trains
the rest of that budget, as every pruned cell continues from the one dense model."""
import json
from pathlib import Path

import pandas as pd
from mmagic.registry import MODELS
from mmengine.config import Config

from ..cells import SCRATCH, cell_argument
from ..choices import ACTIVATIONS
from ..errors import CheckpointError
from ..flops import cost_against_dense, macs_per_frame
from ..io import atomic_path, write_json
from ..models.foreign import load_foreign, local_file, read_foreign, trained_iterations
from ..profiles import dataset_tag, train_meta_file
from ..pruning.checkpoint import load_network, save_network, state_mismatch
from ..runtime import editor_of
from ..safe_checkpoint import load_checkpoint, tensors_only_copy
from ..tracking import log_record, stage_run, tracked
from ..training.config import configured_iters, set_iterations, training_stage
from ..training.record import CURVE_COLUMNS, record_training
from ..training.resume import file_digest, run_training, work_dir
from . import run_stage

SEARCH_LR_SIZE = (36, 64)  # MACs per pixel do not depend on the size; a small trace is quick


def lite_generator(generator: dict, target_macs: float, near: int | None = None) -> dict:
    """``generator`` with ``mid_channels`` (and ``hr_channels`` in proportion) narrowed to the
    width whose MACs (SPyNet excluded, it is the same in both) are closest to ``target_macs``
    (per pixel of ``SEARCH_LR_SIZE``'s LR frame); ``near``, if it is one of the two widths around
    the target (a checkpoint's, which another seed's SSL MACs may round the other way)."""
    full_mid, full_hr = generator['mid_channels'], generator['hr_channels']

    def narrowed(mid: int) -> dict:
        return dict(generator, mid_channels=mid, hr_channels=max(1, round(full_hr * mid / full_mid)))

    def macs(mid: int) -> int:
        return macs_per_frame(MODELS.build(narrowed(mid)), SEARCH_LR_SIZE)['total_without_spynet']

    low, high = 1, full_mid  # MACs grow with the width: bisect for the last width below target
    while low < high:
        mid = (low + high + 1) // 2
        low, high = (mid, high) if macs(mid) <= target_macs else (low, mid - 1)
    around = {low, min(low + 1, full_mid)}
    best = near if near in around else min(around, key=lambda m: abs(macs(m) - target_macs))
    return narrowed(best)


def lite_budget(cell, params: dict) -> dict[str, int]:
    """BasicVSR-lite's fair budget from scratch: what the dense model was trained (its recorded
    ``trained_iters``, a committed or converted checkpoint's included) plus SSL's sparsify and
    finetune. A dense model from a checkpoint that does not record its training counts as 0."""
    dense = json.loads(cell.dense().metrics('train').read_text())
    return {'dense': dense.get('trained_iters', dense['iters']),
            **{stage: configured_iters(stage, params) for stage in ('sparsify', 'finetune')}}


def lite_start(path: Path, dense_generator: dict, target_macs: float) -> tuple[dict, object, int]:
    """``baselines.lite_init_from``: the BasicVSR-lite this run's lite continues from (every seed,
    as every pruned cell continues from the one dense model): its generator config, network and
    the iterations it was trained."""
    checkpoint = load_checkpoint(path)  # a user's file: weights-only
    state = {k.removeprefix('generator.'): v for k, v in checkpoint.get('state_dict', {}).items()}
    width = state['fusion.weight'].shape[0] if 'fusion.weight' in state else None  # fusion: 2C -> C
    generator = lite_generator(dense_generator, target_macs, near=width)
    net = MODELS.build(generator)
    why = state_mismatch(net, state)
    trained = trained_iterations(path)
    if why or trained is None:
        raise CheckpointError(
            f'baselines.lite_init_from={path}: ' + (f'not BasicVSR-lite at SSL\'s MACs here ({why})' if why else
                                                    'records no trained_iters (not a train_lite network)') +
            '; set baselines.lite_init_from: null to train BasicVSR-lite from scratch')
    net.load_state_dict(state)
    return generator, net, trained


def starting_point(cfg: Config, p: dict) -> tuple[dict, object | None]:
    """Apply train_dense's activation and SPyNet weights to ``cfg``'s generator; returns what was
    used (for the metrics) and the converted ``init_from`` network, if any."""
    net, origin, trained_with, used = None, None, 'relu', {}
    if p['init_from']:
        path = local_file(p['init_from'], 'train_dense.init_from')
        state, origin, trained_with = read_foreign(path)
        used.update(init_from=str(path), init_origin=origin, init_trained_iters=trained_iterations(path))
    activation = trained_with if p['activation'] == 'auto' else p['activation']
    cfg.model.generator.act_cfg = ACTIVATIONS[activation]
    used['activation'] = activation
    if p['spynet_pretrained']:
        # MMagic's SPyNet opens its file with mmengine's loader: give it a tensors-only copy.
        spynet = local_file(p['spynet_pretrained'], 'train_dense.spynet_pretrained')
        cfg.model.generator.spynet_pretrained = str(tensors_only_copy(spynet, Path('work_dirs') / 'inputs'))
    if origin is not None:
        net = load_foreign(MODELS.build(cfg.model.generator.to_dict()), state, path)
    return used, net


def main() -> None:
    """Train the dense model (or BasicVSR-lite, narrowed to SSL's MACs) for its budget; write the
    network, its metrics and loss curve."""
    cell = cell_argument(['dense', *SCRATCH], __doc__)
    lite = cell.method != 'dense'
    params, cfg = training_stage('train_dense', __spec__.name, cell, 'train_lite' if lite else None)
    p, inputs = params['train_dense'], [file_digest(train_meta_file(params))]
    dense = cell.dense().network('dense')
    used, start = {}, None
    if lite:
        ssl = json.loads(cell.macs_reference().metrics('prune').read_text())['model']
        target = ssl['macs_total_without_spynet'] * (SEARCH_LR_SIZE[0] * SEARCH_LR_SIZE[1]) / (
            ssl['lr_height'] * ssl['lr_width'])
        # The dense network's own config (its activation included), narrowed.
        dense_generator = Config.fromfile(f'{dense}.py').model.to_dict()
        used['budget'] = lite_budget(cell, params)
        b = params['baselines']
        used['trained_iters'] = b['lite_iters'] or sum(used['budget'].values())
        done = 0
        if b['lite_init_from']:
            path = local_file(b['lite_init_from'], 'baselines.lite_init_from')
            cfg.model.generator, start, done = lite_start(path, dense_generator, target)
            used.update(init_from=str(path), init_trained_iters=done)
            inputs.append(file_digest(path))
        else:
            cfg.model.generator = lite_generator(dense_generator, target)
        if used['trained_iters'] <= done:
            raise CheckpointError(f'baselines.lite_init_from={b["lite_init_from"]} was trained {done} iterations, '
                                  f'BasicVSR-lite\'s budget here is {used["trained_iters"]}: nothing is left to train; '
                                  'set baselines.lite_init_from: null')
        set_iterations(cfg, used['trained_iters'] - done)
        inputs.append(file_digest(f'{dense}.pth'))
    else:
        used, start = starting_point(cfg, p)
        inputs += [file_digest(path) for path in (p['init_from'], p['spynet_pretrained']) if path]
    out = cell.final_network()
    work = work_dir(f'train_{cell.method}', cfg.pretty_text, p, *inputs)

    def share_dense_spynet(runner) -> None:
        # SPyNet is not pruned: lite starts from the dense model's, as BasicVSR from a pretrained one.
        editor_of(runner).generator.spynet.load_state_dict(load_network(f'{dense}.py', f'{dense}.pth').spynet.state_dict())

    tags = {'profile': params['profile'], **cell.mlflow_tags, 'dataset': dataset_tag(params)}
    with stage_run(cell.stage_name('train'), {**p, **used}, tags) as run:
        if not lite:  # what the dense model has been trained in all (lite's budget builds on it)
            here = 0 if p['iters'] == 0 else configured_iters('train_dense', params)
            used['trained_iters'] = (used.get('init_trained_iters') or 0) + here
        if not lite and start is not None and p['iters'] == 0:  # the converted checkpoint is the dense model
            if run is not None:
                save_network(start, out.parent, out.name, meta=dict(stage='train_dense', seed=cell.seed, **used))
                write_json(cell.metrics('train'), {'iters': 0, **used})
                log_record({'iters': 0}, cell.metrics('train'))
                with atomic_path(cell.curve('train')) as tmp:
                    pd.DataFrame(columns=['step', *CURVE_COLUMNS]).to_csv(tmp, index=False)
                tracked.log_artifact(f'{out}.py')
            return
        init = save_network(start, work, 'init_from')[1] if start is not None else None
        runner = run_training(cfg, work, load_from=init, setup=share_dense_spynet if lite else None)
        if run is None:
            return
        net = editor_of(runner).generator
        save_network(net, out.parent, out.name, meta=dict(stage=f'train_{cell.method}', seed=cell.seed, **used))
        extra = dict(used)
        if lite:
            extra = dict(used, **cost_against_dense(load_network(f'{dense}.py', f'{dense}.pth'), net.cpu().eval(),
                                            params['speed']),
                         mid_channels=net.mid_channels, hr_channels=net.arch['hr_channels'])
        record_training(runner, work, cell.metrics('train'), cell.curve('train'), ('val/PSNR',), extra)
        tracked.log_artifact(f'{out}.py')


if __name__ == '__main__':
    run_stage(main)
