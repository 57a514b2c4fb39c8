"""User errors: the library names a bad argument as its own parameter; the stage or CLI command
that passed the value renames it to what the user typed; either way it ends as one line and
exit status 2."""
import pytest
import torch
import yaml

from ssl_mm.errors import ArgumentError, ParamsError, exit_on_user_error, named_as
from ssl_mm.models import SSLBasicVSRNet


def test_the_caller_renames_a_library_argument_to_the_users_name():
    with pytest.raises(ArgumentError) as info:
        with named_as(ratio='--ratio', align='--align'):
            raise ArgumentError('ratio', 0.99, 'would empty a layer: use {name} <= 0.9')
    assert str(info.value) == '--ratio=0.99 would empty a layer: use --ratio <= 0.9'
    assert isinstance(info.value, ParamsError) and isinstance(info.value, ValueError)
    # Other arguments keep the library's name; other errors pass untouched.
    with pytest.raises(ArgumentError, match="^scope='x' is unknown$"):
        with named_as(ratio='--ratio'):
            raise ArgumentError('scope', 'x', 'is unknown')
    with pytest.raises(KeyError):
        with named_as(ratio='--ratio'):
            raise KeyError('ratio')


def test_a_user_error_ends_as_one_line_and_status_2(capsys):
    @exit_on_user_error
    def main():
        with named_as(ratio='prune.ratios'):
            raise ArgumentError('ratio', 1.5, 'is outside (0, 1)')

    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    assert capsys.readouterr().err == 'error: prune.ratios=1.5 is outside (0, 1)\n'


def test_the_prune_stage_names_the_params_keys(repo, tmp_path, monkeypatch):
    """A ratio the network cannot take is reported by the key that listed it (prune.ratios for
    the curve's own ratios, baselines.ratios for the comparison's), a bad align as prune.align."""
    from ssl_mm.cells import Cell, cell
    from ssl_mm.stages.prune import pruned_units
    params = yaml.safe_load((repo / 'params.yaml').read_text())
    net = SSLBasicVSRNet(8, 1)
    with pytest.raises(ArgumentError, match=r'^prune\.ratios=0\.99 would remove every unit of .* use a smaller '
                                            r'prune\.ratios$'):
        pruned_units(cell('l1_norm', 0.99, 0, 'bi', params), net, params)
    # ASSL prunes the set of its search; 'rerank' ranks again at the search's ratio.
    monkeypatch.chdir(tmp_path)
    params['baselines']['ratios'] = [0.99]
    assl = cell('assl', 0.99, 0, 'bi', params)
    assl.dir.mkdir(parents=True)
    torch.save(dict(ratio=0.99, criterion='scale', align_residual=True, picked={}), assl.dir / 'sparsify_state.pt')
    params['prune']['final_pick'] = 'rerank'
    with pytest.raises(ArgumentError, match=r'^baselines\.ratios=0\.99 would remove .* use baselines\.ratios <= '):
        pruned_units(assl, net, params)
    params['prune'].update(final_pick='penalized', align=0)
    with pytest.raises(ArgumentError, match=r'^prune\.align=0 is not a positive integer'):
        pruned_units(Cell('l1_norm', 0.5, 0), net, params)


def test_run_sh_checks_params_yaml_before_dvc_parses_it(repo, tmp_path):
    """``seeds: 0`` is a value DVC's matrix cannot iterate: scripts/run.sh reports it with the
    project's one line (exit 2) instead of DVC's "unexpected error", and runs nothing."""
    import shutil
    import subprocess
    for name in ('scripts', 'ssl_mm', 'configs'):
        shutil.copytree(repo / name, tmp_path / name, ignore=shutil.ignore_patterns('__pycache__'))
    for name in ('requirements.lock', 'pyproject.toml', 'dvc.yaml'):
        shutil.copy(repo / name, tmp_path)
    (tmp_path / '.venv').symlink_to(repo / '.venv')  # set up already: setup.sh is a no-op
    params = yaml.safe_load((repo / 'params.yaml').read_text())
    params['seeds'] = 0
    (tmp_path / 'params.yaml').write_text(yaml.safe_dump(params))
    subprocess.run(['git', 'init', '-q'], cwd=tmp_path, check=True)
    result = subprocess.run(['bash', 'scripts/run.sh'], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    assert result.stderr.strip().splitlines() == [
        'error: params.yaml: seeds=0 is invalid: expected a non-empty list of distinct integers >= 0, e.g. [0, 1, 2]']
    assert not (tmp_path / 'dvc.lock').exists() and not (tmp_path / 'data').exists()


def test_the_eval_cli_exits_2_on_bad_input(tmp_path):
    import subprocess
    import sys
    result = subprocess.run([sys.executable, '-m', 'ssl_mm.eval', '--sets', 'embedded_bi', '--bicubic', '--prepared',
                             str(tmp_path / 'nothing')], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and 'Traceback' not in result.stderr, result.stderr[-2000:]
    assert len([line for line in result.stderr.splitlines() if line.startswith('error: ')]) == 1
