"""The README is an entry point that stays true: at most ~150 lines, and every command in its
code blocks names files, DVC stages, ``ssl-mm`` sub-commands and flags that exist; every key of
its params.yaml snippets is a key of the schema; every link to a file of this repository
resolves."""
import re
import shlex
from pathlib import Path

import pytest
import yaml
from dvc_repo import stages_of

from ssl_mm.cells import STAGES, cells, dense_cells
from ssl_mm.cli import parser
from ssl_mm.params import SCHEMA

README = Path(__file__).resolve().parents[1] / 'README.md'
REPO = README.parent
USER_FILES = ('checkpoints/', 'input.', 'out.', 'lr_frames', 'sr_frames', 'authors/')  # the user's own


def _blocks(language: str) -> list[str]:
    return re.findall(rf'```{language}\n(.*?)```', README.read_text(), flags=re.S)


def _commands() -> list[list[str]]:
    commands = []
    for block in _blocks('bash'):
        for line in block.splitlines():
            line = re.split(r'\s+#\s', line, maxsplit=1)[0].strip()
            if line and not line.startswith('export '):
                commands.append(shlex.split(line))
    return commands


def _pipeline_outputs() -> set[str]:
    params = yaml.safe_load((REPO / 'params.yaml').read_text())
    outputs = set()
    for stage, methods in STAGES.items():
        for cell in cells(params, [m for m in methods if m != 'dense']) + (dense_cells(params) if 'dense' in methods
                                                                           else []):
            outputs |= {str(p) for p in cell.outputs(stage)}
    return outputs


def _check_ssl_mm(args: list[str], outputs: set[str]) -> None:
    sub = parser()._subparsers._group_actions[0].choices
    assert args[0] in sub, f'ssl-mm {args[0]}: no such command'
    flags = {flag for action in sub[args[0]]._actions for flag in action.option_strings}
    for token in args[1:]:
        if token.startswith('--'):
            assert token in flags, f'ssl-mm {args[0]} has no flag {token}'
        elif token.startswith(('models/', 'metrics/')):
            assert token in outputs, f'{token}: no stage writes it'


def test_the_readme_is_an_entry_point():
    lines = README.read_text().splitlines()
    assert len(lines) <= 150, len(lines)
    assert sum(1 for line in lines if line.startswith('bash scripts/')) == 2  # the two commands


@pytest.mark.parametrize('command', _commands(), ids=lambda c: ' '.join(c)[:60])
def test_every_readme_command_names_what_exists(command):
    outputs = _pipeline_outputs()
    program, args = command[0], command[1:]
    if program == 'bash':
        assert (REPO / args[0]).is_file(), args[0]
    elif program.endswith('mlflow'):
        assert args[0] == 'ui' and (REPO / program).parent.name == 'bin'
    elif program == 'dvc':
        params = yaml.safe_load((REPO / 'params.yaml').read_text())
        assert args[0] == 'repro' and args[1] in stages_of(params), args
    elif program == 'ssl-mm':
        _check_ssl_mm(args, outputs)
    elif program.endswith('python'):
        script = REPO / args[0]
        assert script.is_file(), args[0]
        for flag in (t for t in args[1:] if t.startswith('--')):
            assert f"'{flag}'" in script.read_text(), f'{args[0]} has no flag {flag}'
    else:
        pytest.fail(f'a README command this test does not know how to check: {command}')
    for token in args:
        if '/' in token and not token.startswith(('models/', 'metrics/', 'http', 'sqlite:', *USER_FILES)):
            assert (REPO / token).exists(), token


def _keys(tree: dict, prefix: str = '') -> list[str]:
    out = []
    for key, value in tree.items():
        out += _keys(value, f'{prefix}{key}.') if isinstance(value, dict) and key != 'checkpoints' else [
            f'{prefix}{key}']
    return out


def test_every_params_snippet_uses_keys_of_the_schema():
    snippets = _blocks('yaml')
    assert snippets
    for snippet in snippets:
        for key in _keys(yaml.safe_load(snippet)):
            group, *name = key.split('.')
            assert group in SCHEMA and (not name or name[0] in SCHEMA[group]), key


def test_links_to_repository_files_resolve():
    for target in re.findall(r'\]\(([^)#]+)\)', README.read_text()):
        if not target.startswith('http'):
            assert (REPO / target).exists(), target
