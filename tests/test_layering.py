"""The package's layers, read from the import statements: the library (models, pruning, data, eval,
...) knows nothing of the pipeline; the domain (cells.py: methods, cells and their files;
profiles.py; scoring.py; training/, how the pipeline trains) builds on the library; stages and reports build on both, side by side;
no stage imports another stage. Method names live in the domain alone."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from ssl_mm.cells import METHODS, SSL_STEPS

PACKAGE = Path(__file__).resolve().parents[1] / 'ssl_mm'
DOMAIN = {'ssl_mm.cells', 'ssl_mm.profiles', 'ssl_mm.scoring'}
APPS = {'ssl_mm.cli', 'ssl_mm.tracking_sync', 'ssl_mm.__main__'}  # entry points over every layer
STAGE_SHARED = {'ssl_mm.stages', 'ssl_mm.stages.warm'}  # the entry point's plumbing, not stages


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix('').parts
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def imports(path: Path) -> set[str]:
    """Every ssl_mm module ``path`` imports (absolute names; ``from x import y`` counts x and x.y)."""
    name, out = module_name(path), set()
    package = name if path.name == '__init__.py' else name.rsplit('.', 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                anchor = package.split('.')[:len(package.split('.')) - node.level + 1]
                base = '.'.join([*anchor, *([base] if base else [])])
            out.add(base)
            out |= {f'{base}.{alias.name}' for alias in node.names}
    return {m for m in out if m == 'ssl_mm' or m.startswith('ssl_mm.')}


def layer(module: str) -> str:
    if module in APPS:
        return 'app'
    if module.startswith('ssl_mm.stages'):
        return 'stages'
    if module.startswith('ssl_mm.reports'):
        return 'reports'
    return 'domain' if module in DOMAIN or module.startswith('ssl_mm.training') else 'library'


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob('*.py'))}
ALLOWED = {'library': {'library'}, 'domain': {'library', 'domain'}, 'reports': {'library', 'domain', 'reports'},
           'stages': {'library', 'domain', 'reports', 'stages'}, 'app': {'library', 'domain', 'reports', 'stages', 'app'}}


@pytest.mark.parametrize('module', sorted(MODULES))
def test_no_module_imports_a_layer_above_its_own(module):
    known = {m for m in imports(MODULES[module]) if m in MODULES}
    upward = sorted(m for m in known if layer(m) not in ALLOWED[layer(module)])
    assert not upward, f'{module} ({layer(module)}) imports {upward}'
    if layer(module) == 'stages' and module not in STAGE_SHARED:  # a stage is an entry point, not a library
        others = sorted(m for m in known if layer(m) == 'stages' and m not in STAGE_SHARED)
        assert not others, f'{module} imports the stage(s) {others}'


def test_the_checker_sees_relative_and_absolute_imports():
    assert {'ssl_mm.cells', 'ssl_mm.stages', 'ssl_mm.stages.run_stage'} <= imports(PACKAGE / 'stages' / 'prune.py')
    assert 'ssl_mm.eval.evaluate' in imports(PACKAGE / 'scoring.py')
    assert layer('ssl_mm.stages.report') == 'stages' and layer('ssl_mm.cells') == 'domain'


def test_no_method_name_is_spelled_outside_the_domain_module():
    """'ssl', 'l1_norm', ... as string literals only in cells.py: everything else asks it."""
    names = {*METHODS, *SSL_STEPS}
    found = []
    for module, path in MODULES.items():
        if module == 'ssl_mm.cells':
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names:
                found.append(f'{module}:{node.lineno} {node.value!r}')
    assert not found, found
    assert re.search(r"'ssl_tf': Method\(", (PACKAGE / 'cells.py').read_text())  # the check reads real source


@pytest.mark.parametrize('module', sorted(m for m in MODULES if m.startswith(('ssl_mm.stages', 'ssl_mm.training'))))
def test_public_definitions_of_the_stages_and_their_plumbing_say_what_they_do(module):
    tree = ast.parse(MODULES[module].read_text())
    bare = [node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))
            and not node.name.startswith('_') and not ast.get_docstring(node)]
    assert ast.get_docstring(tree), f'{module} has no module docstring'
    assert not bare, f'{module}: no docstring on {bare}'
