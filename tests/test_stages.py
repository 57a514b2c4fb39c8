import copy
import math
import subprocess
import sys
import textwrap

import pytest
import yaml

from ssl_mm.errors import ParamsError
from ssl_mm.params import load_params
from ssl_mm.training.config import set_iterations, stage_config
from ssl_mm.training.resume import work_dir


@pytest.fixture
def params_file(repo, tmp_path):
    def write(mutate=lambda p: None):
        params = yaml.safe_load((repo / 'params.yaml').read_text())
        mutate(params)
        path = tmp_path / 'params.yaml'
        path.write_text(yaml.safe_dump(params))
        return path
    return write


@pytest.mark.parametrize('mutate,message', [
    (lambda p: p.update(profil='paper'), "unknown key 'profil'"),
    (lambda p: p.update(profile='gpu'), r"profile='gpu' is invalid: expected one of \['default', 'paper'\]"),
    (lambda p: p['prune'].update(ratios=[0.25, 1.5]),
     r'prune.ratios=\[0.25, 1.5\] is invalid: expected a list of distinct numbers in \(0, 1\)'),
    (lambda p: p['baselines'].update(ratios=[]), r'baselines.ratios=\[\] is invalid: expected a non-empty list'),
    (lambda p: p['prune'].update(ratios=0.5), r"prune.ratios=0.5 is invalid"),
    (lambda p: p['prune'].update(ratios=[0.25, 0.25]), r"prune.ratios=\[0.25, 0.25\] is invalid: expected a list of distinct"),
    (lambda p: p['prune'].update(ratios=[0.25, 0.5, 0.75]),  # a params.yaml from before other_seeds
     r"prune.ratios=\[0.25, 0.5, 0.75\] repeats baselines.ratios \[0.5\]: prune.ratios lists only the curve's other "
     r"ratios .*; remove \[0.5\] from prune.ratios"),
    (lambda p: p['baselines'].update(tf_lambda=p['baselines'].pop('lambda_tf')),  # the name before one per concept
     r'baselines.tf_lambda is now baselines.lambda_tf: rename the key$'),
    (lambda p: p.update(other_seeds=[]), r'other_seeds=\[\] is invalid: expected a non-empty list'),
    (lambda p: p.update(other_seeds=[0, 7]), r'other_seeds=\[0, 7\]: \[7\] not in seeds \[0, 1, 2\] \(SSL \+ TF finetunes '
                                             r"SSL's pruned model of the same seed\): add them to seeds$"),
    (lambda p: p.update(seeds=[]), r'seeds=\[\] is invalid: expected a non-empty list of distinct integers'),
    (lambda p: p.update(seeds=[0, -1]), r'seeds=\[0, -1\] is invalid'),
    (lambda p: p['sparsify'].update(criterion='L2'), r"sparsify.criterion='L2' is invalid: expected one of \['scale', 'l1'\]"),
    (lambda p: p['evaluate'].update(sets=['vid5']), r"evaluate.sets=\['vid5'\] is invalid"),
    (lambda p: p['train_dense'].update(iters=-3), r'train_dense.iters=-3 is invalid: expected an integer >= 0'),
    (lambda p: p['prune'].pop('align'), 'missing key prune.align'),
    (lambda p: p['prune'].update(round_to=p['prune'].pop('align')), 'prune.round_to is now prune.align: rename the key'),
    (lambda p: p['prune'].update(ratoi=0.3), 'unknown key prune.ratoi'),
    (lambda p: p.pop('finetune'), r"missing group\(s\) \['finetune'\]"),
    (lambda p: p['training'].update(gt_patch=30), r'training.gt_patch=30 is invalid: expected a multiple of 4, >= 32'),
    (lambda p: p['speed'].update(lr_size=[180]), r'speed.lr_size=\[180\] is invalid: expected \[height, width\]'),
    (lambda p: p['data'].update(degradations=['bi', 'bicubic']), r"data.degradations=\['bi', 'bicubic'\] is invalid"),
    (lambda p: (p.update(profile='paper'), p['data'].update(degradations=['bd'])),
     r"REDS has BI LR only; BD models train on Vimeo-90K .*: set data.train_set to vimeo90k"),
    (lambda p: p['authors'].update(checkpoints={'reds': {'path': 'https://example.org/model_prune_final.pt',
                                                         'degradation': 'bi'}}),
     r"authors.checkpoints=.* is invalid: expected a mapping name -> \{path: local model_prune_final.pt.*a URL must "
     r"be fetched first"),
    (lambda p: p['authors'].update(checkpoints={'reds': {'path': 'model_prune_final.pt'}}),
     r"authors.checkpoints=.* is invalid: expected a mapping name -> \{path: .*, degradation: bi \| bd\}"),
])
def test_params_are_validated_with_one_clear_line(params_file, mutate, message):
    with pytest.raises(ParamsError, match=message):
        load_params(params_file(mutate))


def test_profiles_switch_with_one_param(params_file, repo, monkeypatch):
    monkeypatch.chdir(repo)
    default = load_params(params_file())
    cfg = stage_config('finetune', default)
    assert cfg.model.generator.mid_channels == 16 and cfg.model.type == 'TemporalFinetuneBasicVSR'
    paper = copy.deepcopy(default)
    paper['profile'] = 'paper'
    with pytest.raises(ParamsError, match='set data.reds'):
        stage_config('train_dense', paper)
    paper['data']['reds'] = '/datasets/REDS'
    for stage, iters in (('train_dense', 300000), ('sparsify', 19000), ('finetune', 300000)):
        cfg = stage_config(stage, paper)
        assert cfg.model.generator.mid_channels == 64 and cfg.model.generator.num_blocks == 30
        assert cfg.train_cfg.max_iters == iters
        assert cfg.train_dataloader.dataset.num_input_frames == 15
        assert cfg.train_dataloader.dataset.data_root == '/datasets/REDS'
    # Vimeo-90K instead of REDS: its septuplets (mirrored), its root, its clip list.
    paper['data'].update(train_set='vimeo90k')
    with pytest.raises(ParamsError, match='data.train_set=vimeo90k: set data.vimeo90k'):
        stage_config('finetune', paper)
    paper['data']['vimeo90k'] = '/datasets/vimeo90k'
    vimeo = stage_config('finetune', paper).train_dataloader
    assert vimeo.dataset.data_root == '/datasets/vimeo90k' and vimeo.dataset.num_input_frames == 7
    assert vimeo.dataset.ann_file.endswith('meta/meta_info_vimeo90k_train.txt')
    assert 'MirrorSequence' in [step['type'] for step in vimeo.dataset.pipeline]
    paper['training']['clip_frames'] = 5
    with pytest.raises(ParamsError, match='training.clip_frames=5: Vimeo-90K samples are its septuplets'):
        stage_config('finetune', paper)
    paper['data']['train_set'] = 'reds'
    # params.yaml's `training` shrinks (or grows) the samples of every training stage.
    paper['training'].update(gt_patch=64, batch_size=4)
    for stage in ('train_dense', 'sparsify', 'finetune', 'train_lite'):
        loader = stage_config(stage, paper).train_dataloader
        crop = [step for step in loader.dataset.pipeline if step['type'] == 'PairedRandomCrop']
        assert (loader.dataset.num_input_frames, crop[0]['gt_patch_size'], loader.batch_size) == (5, 64, 4)
    paper['training'] = dict.fromkeys(paper['training'])
    sparsify = stage_config('sparsify', paper)
    [hook] = sparsify.custom_hooks
    assert (hook.step, hook.ceiling, hook.update_interval, hook.stabilize_iters) == (1e-4, 0.1, 5, 14000)
    set_iterations(sparsify, 100, 1e-3)
    assert sparsify.train_cfg.max_iters == 100 and sparsify.optim_wrapper.optimizer.lr == 1e-3


def test_work_dir_changes_with_config_and_inputs():
    assert work_dir('sparsify', 'cfg', {'a': 1}) == work_dir('sparsify', 'cfg', {'a': 1})
    assert work_dir('sparsify', 'cfg', {'a': 1}) != work_dir('sparsify', 'cfg2', {'a': 1})


def test_trusted_checkpoint_loading_is_scoped_to_the_runner():
    """Importing the stages leaves mmengine's checkpoint loaders as they were; the trusted
    (weights_only=False) local loader exists only inside ``trusted_local_checkpoints``."""
    code = textwrap.dedent('''
        from mmengine.runner import CheckpointLoader
        before = dict(CheckpointLoader._schemes)
        import ssl_mm.training.resume  # noqa: F401
        import ssl_mm.io as io
        assert dict(CheckpointLoader._schemes) == before, 'importing ssl_mm.training.resume changed the loaders'
        with io.trusted_local_checkpoints():
            assert CheckpointLoader._schemes[''] is io._load_trusted_checkpoint
        assert dict(CheckpointLoader._schemes) == before, 'the trusted loader outlived its scope'
    ''')
    subprocess.run([sys.executable, '-c', code], check=True)


def test_the_prune_stage_ranks_the_unaligned_pick_beside_the_aligned_one(repo):
    """prune.align > 1: the stage removes the aligned set and records what the same ratio keeps
    unaligned (the kept-channels figure draws both)."""
    from ssl_mm.cells import Cell
    from ssl_mm.models import SSLBasicVSRNet
    from ssl_mm.stages.prune import pruned_units
    params = load_params(repo / 'params.yaml')
    params['prune']['align'] = 4
    net = SSLBasicVSRNet(16, 2)
    cell = Cell('l1_norm', 0.6, 0)  # per layer: n - ceil(0.6 n) kept unaligned (16 -> 6)
    aligned, unaligned = pruned_units(cell, net, params), pruned_units(cell, net, params, 1)
    assert all(int((~m).sum()) == m.numel() - math.ceil(0.6 * m.numel()) for m in unaligned.values())
    assert all(int((~m).sum()) % 4 == 0 for m in aligned.values())
    assert any(int((~m).sum()) == 6 for m in unaligned.values())
