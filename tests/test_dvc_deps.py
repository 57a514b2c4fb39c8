"""The stages' code deps in dvc.yaml are correct by construction.

A stage's `cmd` is `python -m ssl_mm.<module> [args]`. Everything of ours that this runs is the
closure of that module over its `ssl_mm` imports, read from the source with `ast`: absolute and
relative imports, `from pkg import submodule`, imports inside functions (they run when called),
every parent package's `__init__.py` (importing `a.b.c` executes `a/__init__.py` and
`a/b/__init__.py` first), `importlib.import_module('ssl_mm...')` with a literal name, and
mmengine's `custom_imports=dict(imports=[...])`. Imports under `if TYPE_CHECKING:` never run and
are skipped; third-party imports are ignored. A stage that lists `configs` in its deps reads the
mmengine configs, whose `custom_imports` (e.g. `['ssl_mm', 'ssl_mm.tracking']`) execute those
modules too, so their closures count for that stage.

test_stage_deps_cover_its_code fails, per top-level stage of dvc.yaml, naming each source file
the stage runs that no dep covers (a dep covers a file it equals or is a parent folder of) and the
import chain that reached it. test_changing_slicing_reruns_prune_and_evaluate asks the real DVC
CLI whether an edit to ssl_mm/pruning/slicing.py marks the prune and evaluate stages as changed.
"""
from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from collections import deque
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
PACKAGE = 'ssl_mm'
CONFIGS = 'configs'
# `python -m X`, allowing interpreter flags before -m (python3 -u -m X).
_PYTHON_M = re.compile(r'\bpython[0-9.]*(?:\s+-[A-Za-z]+)*\s+-m\s+(\S+)')


# ---------------------------------------------------------------------------------------------
# Module graph
# ---------------------------------------------------------------------------------------------

def _module_file(root: Path, name: str) -> str | None:
    """`ssl_mm.a.b` -> 'ssl_mm/a/b/__init__.py' or 'ssl_mm/a/b.py' (relative to root), or None."""
    base = root.joinpath(*name.split('.'))
    for candidate in (base / '__init__.py', base.with_suffix('.py')):
        if candidate.is_file():
            return candidate.relative_to(root).as_posix()
    return None


def _is_ours(name: str) -> bool:
    return name == PACKAGE or name.startswith(PACKAGE + '.')


def _literal_strings(node: ast.AST) -> list[str]:
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    return []


def _custom_imports(value: ast.AST) -> list[str]:
    """The module names of `dict(imports=[...])` or `{'imports': [...]}`."""
    if isinstance(value, ast.Call):
        return [n for kw in value.keywords if kw.arg == 'imports' for n in _literal_strings(kw.value)]
    if isinstance(value, ast.Dict):
        return [n for k, v in zip(value.keys, value.values)
                if isinstance(k, ast.Constant) and k.value == 'imports' for n in _literal_strings(v)]
    return []


def _is_type_checking(test: ast.AST) -> bool:
    return (isinstance(test, ast.Name) and test.id == 'TYPE_CHECKING') or \
        (isinstance(test, ast.Attribute) and test.attr == 'TYPE_CHECKING')


class _Imports(ast.NodeVisitor):
    """(line, module name, optional) for every import statement of a module, anywhere in it.

    optional: `from pkg import name` may import the submodule pkg.name or just an attribute;
    it is followed only if that submodule exists.
    """

    def __init__(self, modname: str, is_package: bool):
        self.package = modname.split('.') if is_package else modname.split('.')[:-1]
        self.found: list[tuple[int, str, bool]] = []

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):  # never runs; its `else:` does
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.found += [(node.lineno, alias.name, False) for alias in node.names]

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            if node.level - 1 > len(self.package):
                raise ImportError(f'relative import beyond the top package at line {node.lineno}')
            parts = self.package[:len(self.package) - (node.level - 1)]
            base = '.'.join(parts + ([node.module] if node.module else []))
        else:
            base = node.module or ''
        self.found.append((node.lineno, base, False))
        self.found += [(node.lineno, f'{base}.{alias.name}', True) for alias in node.names if alias.name != '*']

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ''
        if name in ('import_module', '__import__') and node.args:
            self.found += [(node.lineno, n, False) for n in _literal_strings(node.args[0])]
        for kw in node.keywords:
            if kw.arg == 'custom_imports':
                self.found += [(node.lineno, n, False) for n in _custom_imports(kw.value)]
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        if any(isinstance(t, ast.Name) and t.id == 'custom_imports' for t in node.targets):
            self.found += [(node.lineno, n, False) for n in _custom_imports(node.value)]
        self.generic_visit(node)


def _executed_files(root: Path, name: str) -> list[str]:
    """The files importing `name` executes: each parent package's __init__.py, then its own."""
    parts = name.split('.')
    files = (_module_file(root, '.'.join(parts[:i])) for i in range(1, len(parts) + 1))
    return [f for f in files if f is not None]


class ModuleGraph:
    """Which ssl_mm files each ssl_mm file executes when it runs, with the importing line."""

    def __init__(self, root: Path):
        self.root = root
        self._edges: dict[str, list[tuple[int, str]]] = {}

    def edges(self, path: str) -> list[tuple[int, str]]:
        if path not in self._edges:
            file = self.root / path
            parts = list(Path(path).with_suffix('').parts)
            is_package = parts[-1] == '__init__'
            modname = '.'.join(parts[:-1] if is_package else parts)
            visitor = _Imports(modname, is_package)
            try:
                visitor.visit(ast.parse(file.read_text(encoding='utf-8'), filename=str(file)))
            except (SyntaxError, ImportError) as error:
                raise AssertionError(f'{path}: {error}') from error
            edges = []
            for line, name, optional in visitor.found:
                if not _is_ours(name):
                    continue
                if _module_file(self.root, name) is None and not (self.root / name.replace('.', '/')).is_dir():
                    if optional:
                        continue  # `from pkg import attribute`
                    raise AssertionError(f'{path}:{line} imports {name}, which is no file under {self.root}')
                edges += [(line, target) for target in _executed_files(self.root, name)]
            self._edges[path] = edges
        return self._edges[path]

    def reach(self, entries: dict[str, list[str]]) -> dict[str, list[str]]:
        """Every file reached from `entries` ({label: files it executes directly}), each with the
        shortest chain that reaches it: [label, 'file:line', ..., 'file']."""
        came_from: dict[str, tuple[str, int | None]] = {}
        queue: deque[str] = deque()
        for label, files in entries.items():
            for file in files:
                if file not in came_from:
                    came_from[file] = (label, None)
                    queue.append(file)
        while queue:
            file = queue.popleft()
            for line, target in self.edges(file):
                if target not in came_from:
                    came_from[target] = (file, line)
                    queue.append(target)

        def chain(file: str) -> list[str]:
            hops = [file]
            while True:
                previous, line = came_from[hops[-1].split(':')[0]]
                if line is None:
                    return [previous, *reversed(hops)]
                hops.append(f'{previous}:{line}')

        return {file: chain(file) for file in came_from}


def module_entry(root: Path, module: str) -> list[str]:
    """What `python -m module` executes directly: parent packages, then the module (a package:
    its __init__.py and __main__.py)."""
    files = _executed_files(root, module)
    if not files or _module_file(root, module) is None:
        raise AssertionError(f'`python -m {module}`: no such module under {root}')
    if files[-1].endswith('/__init__.py'):
        main = files[-1].replace('__init__.py', '__main__.py')
        if not (root / main).is_file():
            raise AssertionError(f'`python -m {module}`: a package without __main__.py')
        files.append(main)
    return files


def config_imports(root: Path) -> dict[str, list[str]]:
    """{'configs/x.py:N custom_imports': files executed} for every custom_imports in configs/."""
    entries = {}
    for config in sorted((root / CONFIGS).rglob('*.py')):
        visitor = _Imports('config', is_package=False)
        visitor.visit(ast.parse(config.read_text(encoding='utf-8'), filename=str(config)))
        for line, name, _ in visitor.found:
            if _is_ours(name):
                label = f'{config.relative_to(root).as_posix()}:{line} custom_imports {name}'
                entries[label] = _executed_files(root, name)
    return entries


# ---------------------------------------------------------------------------------------------
# dvc.yaml
# ---------------------------------------------------------------------------------------------

def stage_groups(dvc_yaml: Path) -> dict[str, dict]:
    """{top-level stage name: its body}; `foreach` groups give their `do:` body, `matrix` groups
    have it beside `matrix:`. YAML anchors and `<<:` merge keys are resolved by safe_load."""
    stages = (yaml.safe_load(dvc_yaml.read_text(encoding='utf-8')) or {}).get('stages') or {}
    return {name: (spec['do'] if 'foreach' in spec else spec) for name, spec in stages.items()}


def stage_modules(body: dict) -> list[str]:
    cmds = body.get('cmd') or []
    modules = [m for cmd in ([cmds] if isinstance(cmds, str) else cmds) for m in _PYTHON_M.findall(cmd)]
    return [m for m in modules if _is_ours(m.split('${')[0]) or m.startswith('${')]


def stage_deps(body: dict) -> list[str]:
    """The stage's deps as paths relative to the repo root; `${...}` entries (data paths filled
    per item) are left out."""
    wdir = str(body.get('wdir') or '.')
    deps = [d if isinstance(d, str) else next(iter(d)) for d in body.get('deps') or []]
    return [os.path.normpath(os.path.join(wdir, d)).replace(os.sep, '/')
            for d in deps if '${' not in d and '${' not in wdir]


def covers(dep: str, file: str) -> bool:
    dep = dep.rstrip('/')
    return dep == '.' or file == dep or file.startswith(dep + '/')


def reached_code(root: Path, body: dict, graph: ModuleGraph | None = None) -> dict[str, list[str]]:
    """{file: import chain} for each ssl_mm file the stage's cmd runs."""
    graph = graph or ModuleGraph(root)
    deps = stage_deps(body)
    entries = {}
    for module in stage_modules(body):
        assert '${' not in module, f'cannot tell the module of `python -m {module}` without its item'
        entries[f'python -m {module}'] = module_entry(root, module)
    if any(covers(CONFIGS, d) for d in deps):  # it reads configs/ (a `configs` dep or a file in it)
        entries.update(config_imports(root))
    return dict(sorted(graph.reach(entries).items()))


def uncovered(body: dict, reached: dict[str, list[str]]) -> dict[str, list[str]]:
    deps = stage_deps(body)
    return {file: chain for file, chain in reached.items() if not any(covers(dep, file) for dep in deps)}


def suggested_deps(root: Path, missing: list[str], reached: dict[str, list[str]]) -> list[str]:
    """The fewest paths covering `missing`: a file's highest package folder whose every .py
    file the stage runs, else the file itself."""
    suggestions = set()
    for file in missing:
        best = file
        for folder in Path(file).parents:
            if folder == Path('.'):
                break
            sources = [p.relative_to(root).as_posix() for p in (root / folder).rglob('*.py')
                       if '__pycache__' not in p.parts]
            if all(s in reached for s in sources):
                best = folder.as_posix()
        suggestions.add(best)
    return sorted(suggestions)


# What a stage runs but what cannot change its results: not a dep, so an edit to it reruns nothing.
NOT_RESULTS = {
    f'{PACKAGE}/stages/warm.py': 'how a stage process starts (a fork of the warm stage server), not what it computes',
}


def precise_deps(root: Path, reached: dict[str, list[str]]) -> list[str]:
    """The code deps a stage needs, no more: the fewest paths covering what it runs (a folder
    only where the stage runs every file in it), minus NOT_RESULTS."""
    needed = {file: chain for file, chain in reached.items() if file not in NOT_RESULTS}
    return suggested_deps(root, list(needed), needed)


def _python_stages(dvc_yaml: Path) -> list[str]:
    return [name for name, body in stage_groups(dvc_yaml).items() if stage_modules(body)]


_GRAPH = ModuleGraph(REPO)  # parsed once for all the cases


def test_dvc_yaml_has_python_stages():
    """Guards against the parametrization below silently finding nothing."""
    assert _python_stages(REPO / 'dvc.yaml'), 'no stage of dvc.yaml runs `python -m ssl_mm...`'


@pytest.mark.parametrize('stage', _python_stages(REPO / 'dvc.yaml'))
def test_stage_deps_cover_its_code(stage):
    body = stage_groups(REPO / 'dvc.yaml')[stage]
    reached = reached_code(REPO, body, _GRAPH)
    missing = {file: chain for file, chain in uncovered(body, reached).items() if file not in NOT_RESULTS}
    if missing:
        pytest.fail(
            f"dvc.yaml stage '{stage}' runs {len(missing)} source file(s) no dep covers, so editing them "
            f"would not rerun it (add to its deps: {', '.join(suggested_deps(REPO, list(missing), reached))}):\n"
            + '\n'.join(f'  {file}\n    via {" -> ".join(chain)}' for file, chain in missing.items()),
            pytrace=False)


@pytest.mark.parametrize('stage', _python_stages(REPO / 'dvc.yaml'))
def test_stage_code_deps_are_what_it_runs_and_no_more(stage):
    """A dep the stage does not run (a whole package it imports one file of, warm.py) would rerun
    it for edits that cannot change its results."""
    body = stage_groups(REPO / 'dvc.yaml')[stage]
    listed = sorted(d for d in stage_deps(body) if covers(PACKAGE, d))
    wanted = precise_deps(REPO, reached_code(REPO, body, _GRAPH))
    assert listed == wanted, (f"dvc.yaml stage '{stage}': its code deps should be exactly\n      - "
                              + '\n      - '.join(wanted))


def test_what_cannot_change_results_is_still_run_by_every_stage():
    """NOT_RESULTS names real files the stages run (else the exemption hides nothing and is stale)."""
    body = stage_groups(REPO / 'dvc.yaml')['prepare_data']
    assert set(NOT_RESULTS) <= set(reached_code(REPO, body, _GRAPH))


# ---------------------------------------------------------------------------------------------
# The real DVC
# ---------------------------------------------------------------------------------------------
#
# Approach: a real `dvc status` needs a dvc.lock, and writing one with `dvc repro` means running
# the pipeline. `dvc commit` writes the same dvc.lock from whatever is on disk, so: copy the code,
# configs, dvc.yaml and params.yaml into a fresh DVC repo, put a tiny placeholder file at every
# output and every missing dependency path (the stages' resolved paths, from DVC's own index),
# `dvc commit -f` to record them all in dvc.lock, edit one line of ssl_mm/pruning/slicing.py, and
# ask `dvc status --json` which stages changed and why (only that edit may show). That is
# DVC's own decision from the real dvc.yaml (foreach/matrix, vars, anchors), with no stage run.

SLICING = f'{PACKAGE}/pruning/slicing.py'


def _dvc_env(root: Path) -> dict[str, str]:
    """No analytics; DVC's site cache and global/system config kept inside the test's tmp dir."""
    return {'DVC_NO_ANALYTICS': '1', 'DVC_SITE_CACHE_DIR': str(root.parent / 'dvc-site'),
            'DVC_GLOBAL_CONFIG_DIR': str(root.parent / 'dvc-global'),
            'DVC_SYSTEM_CONFIG_DIR': str(root.parent / 'dvc-system')}


def _dvc(root: Path, *args: str) -> str:
    env = {**os.environ, **_dvc_env(root)}
    result = subprocess.run([str(Path(sys.executable).parent / 'dvc'), *args], cwd=root, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, f'dvc {" ".join(args)} failed:\n{result.stdout}{result.stderr}'
    return result.stdout


def _status(root: Path) -> dict:
    return json.loads(_dvc(root, 'status', '--json') or '{}')


def test_changing_slicing_reruns_prune_and_evaluate(tmp_path, monkeypatch):
    if not (Path(sys.executable).parent / 'dvc').is_file():
        pytest.skip('no dvc next to this Python')
    root = tmp_path / 'repo'
    for name, value in _dvc_env(root).items():  # for the in-process Repo below as for the CLI
        monkeypatch.setenv(name, value)
    shutil.copytree(REPO / PACKAGE, root / PACKAGE, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
    shutil.copytree(REPO / CONFIGS, root / CONFIGS, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
    for name in ('dvc.yaml', 'params.yaml', '.dvcignore'):
        if (REPO / name).is_file():
            shutil.copy(REPO / name, root / name)
    from dvc.repo import Repo
    Repo.init(str(root), no_scm=True).close()
    with Repo(str(root)) as repo:
        stages = {stage.name: stage for stage in repo.index.stages}
        outs = [Path(out.fs_path) for stage in stages.values() for out in stage.outs]
        deps = [Path(dep.fs_path) for stage in stages.values() for dep in stage.deps]
    for path in outs + deps:  # outs first: a dep may be a folder of outs (`metrics`)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f'placeholder for {path.relative_to(root)}\n')
    _dvc(root, 'commit', '-f', '-q')

    slicing = root / SLICING
    lines = slicing.read_text(encoding='utf-8').splitlines(keepends=True)
    lines[0] = lines[0].rstrip('\n') + '  # edited\n'
    slicing.write_text(''.join(lines), encoding='utf-8')
    status = _status(root)

    expected = sorted(name for name in stages if name.split('@')[0].startswith(('prune', 'evaluate')))
    assert any(n.startswith('prune') for n in expected) and any(n.startswith('evaluate') for n in expected)
    not_rerun = [name for name in expected
                 if not any(covers(path, SLICING) for entry in status.get(name, []) if isinstance(entry, dict)
                            for path in entry.get('changed deps', {}))]
    # Nothing but the edit may show: anything else means the placeholder dvc.lock is off.
    others = {name: entries for name, entries in status.items()
              if any(not isinstance(entry, dict) or set(entry) != {'changed deps'}
                     or not all(covers(path, SLICING) for path in entry['changed deps']) for entry in entries)}
    assert not others, f'`dvc status` reports more than the edit of {SLICING}: {json.dumps(others)}'
    if not_rerun:
        pytest.fail(f'after editing {SLICING}, `dvc status` does not report these stages as changed '
                    f'(their deps miss it): {not_rerun}\nstatus: {json.dumps(status)}', pytrace=False)


# ---------------------------------------------------------------------------------------------
# The checker itself, on a made-up package and every dvc.yaml form
# ---------------------------------------------------------------------------------------------

def test_checker_follows_every_import_form_and_dvc_yaml_form(tmp_path):
    files = {
        'ssl_mm/__init__.py': 'from . import core\n',
        'ssl_mm/core.py': 'import os\n',
        'ssl_mm/tracking.py': '',
        'ssl_mm/pruning/__init__.py': 'from .slicing import prune\n',
        'ssl_mm/pruning/slicing.py': 'import torch\nfrom ..models import net\n',
        'ssl_mm/models/__init__.py': '',
        'ssl_mm/models/net.py': '',
        'ssl_mm/models/unused.py': '',
        'ssl_mm/typing_only.py': '',
        'ssl_mm/stages/__init__.py': '',
        'ssl_mm/stages/common.py': 'from .. import cells\n',
        'ssl_mm/cells.py': '',
        'ssl_mm/stages/prune.py': (
            'from typing import TYPE_CHECKING\nfrom ..pruning import prune\nif TYPE_CHECKING:\n'
            '    from .. import typing_only\n\ndef main():\n    import ssl_mm.stages.common\n'),
        'configs/_base_/model.py': "custom_imports = dict(imports=['ssl_mm.tracking'])\n",
    }
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    (tmp_path / 'dvc.yaml').write_text('''
stages:
  prune:
    foreach: [ssl, l1_norm]
    do:
      cmd: python -m ssl_mm.stages.prune ${item}
      deps:
        - models/${item}.pth
        - ssl_mm/stages/prune.py
        - ssl_mm/pruning
  train_ssl: &train
    vars: [{method: ssl}]
    matrix: {seed: [0, 1]}
    cmd: python3 -u -m ssl_mm.stages.prune ${method} --seed ${item.seed}
    deps:
      - models/${method}/seed${item.seed}.pth
      - configs
      - ssl_mm/__init__.py
      - ssl_mm/cells.py
      - ssl_mm/core.py
      - ssl_mm/pruning
      - ssl_mm/models
      - ssl_mm/stages
  train_assl:
    <<: *train
    vars: [{method: assl}]
  moved:
    <<: *train
    wdir: ssl_mm
    deps: [__init__.py, cells.py, core.py, pruning, models, stages, tracking.py]
  shell:
    cmd: echo done
''')
    groups = stage_groups(tmp_path / 'dvc.yaml')
    assert [name for name, body in groups.items() if stage_modules(body)] == \
        ['prune', 'train_ssl', 'train_assl', 'moved']

    def missing(stage):
        body = groups[stage]
        return uncovered(body, reached_code(tmp_path, body, ModuleGraph(tmp_path)))

    gaps = missing('prune')
    assert sorted(gaps) == ['ssl_mm/__init__.py', 'ssl_mm/cells.py', 'ssl_mm/core.py', 'ssl_mm/models/__init__.py',
                            'ssl_mm/models/net.py', 'ssl_mm/stages/__init__.py', 'ssl_mm/stages/common.py']
    assert gaps['ssl_mm/models/net.py'] == [
        'python -m ssl_mm.stages.prune', 'ssl_mm/stages/prune.py:2', 'ssl_mm/pruning/__init__.py:1',
        'ssl_mm/pruning/slicing.py:2', 'ssl_mm/models/net.py']
    # configs listed: their custom_imports run ssl_mm.tracking, which train_* does not cover
    assert list(missing('train_ssl')) == list(missing('train_assl')) == ['ssl_mm/tracking.py']
    assert missing('train_ssl')['ssl_mm/tracking.py'][0].startswith('configs/_base_/model.py:1 custom_imports')
    assert missing('moved') == {}
    reached = reached_code(tmp_path, groups['prune'])
    assert suggested_deps(tmp_path, list(gaps), reached) == [
        'ssl_mm/__init__.py', 'ssl_mm/cells.py', 'ssl_mm/core.py', 'ssl_mm/models/__init__.py',
        'ssl_mm/models/net.py', 'ssl_mm/stages']
