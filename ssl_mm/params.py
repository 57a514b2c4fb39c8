"""params.yaml: the schema every stage validates before it does any work.

A typo, a value of the wrong type or out of range fails at once with one line that names the
key, what was found and what is expected, before any result is touched.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

import yaml

from .choices import ACTIVATIONS, FINAL_PICKS, LR_DIRS, URL
from .criteria import CRITERIA
from .errors import ParamsError
from .eval.protocols import PROTOCOLS

PARAMS_FILE = Path('params.yaml')
PROFILES = ('default', 'paper')
Check = tuple[Callable[[Any], bool], str]  # (is valid, what is expected)


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _integer(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def one_of(*choices) -> Check:
    return (lambda v: v in choices), f'one of {list(choices)}'


PATH_OR_NULL: Check = (lambda v: v is None or isinstance(v, str)), 'a path or null'
PATH: Check = (lambda v: isinstance(v, str) and bool(v)), 'a path'
ITERS: Check = (lambda v: v is None or (_integer(v) and v > 0)), 'a positive integer or null (config default)'
ITERS_OR_ZERO: Check = ((lambda v: v is None or (_integer(v) and v >= 0)),
                        'an integer >= 0 (0: no training, with init_from) or null (config default)')
POSITIVE_OR_NULL: Check = (lambda v: v is None or (_number(v) and v > 0)), 'a positive number or null (config default)'
NON_NEGATIVE: Check = (lambda v: _number(v) and v >= 0), 'a number >= 0'
RATIO: Check = (lambda v: _number(v) and 0 < v < 1), 'a number in (0, 1), e.g. 0.5'
POSITIVE: Check = (lambda v: _integer(v) and v > 0), 'a positive integer'
LR_SIZE: Check = ((lambda v: isinstance(v, list) and len(v) == 2 and all(_integer(x) and x >= 16 for x in v)),
                  '[height, width] of at least 16 pixels each, e.g. [180, 320]')
BOOLEAN: Check = (lambda v: isinstance(v, bool)), 'true or false'
SETS: Check = ((lambda v: isinstance(v, list) and bool(v) and all(s in PROTOCOLS for s in v)),
               f'a non-empty list of {sorted(PROTOCOLS)}')


def distinct_list(item: Callable[[Any], bool], expected: str, may_be_empty: bool = False) -> Check:
    """A list (non-empty unless ``may_be_empty``) of distinct values that each pass ``item``."""
    return ((lambda v: isinstance(v, list) and (may_be_empty or bool(v)) and len(set(v)) == len(v)
             and all(item(x) for x in v)),
            f'a {"" if may_be_empty else "non-empty "}list of distinct {expected}')


def _authors_entry(v) -> bool:
    return (isinstance(v, dict) and set(v) == {'path', 'degradation'} and PATH[0](v['path'])
            and not URL.match(v['path']) and v['degradation'] in LR_DIRS)


AUTHORS_CHECKPOINTS: Check = (
    (lambda v: isinstance(v, dict) and all(re.fullmatch(r'[A-Za-z0-9_]+', str(k)) and _authors_entry(e)
                                           for k, e in v.items())),
    'a mapping name -> {path: local model_prune_final.pt, degradation: bi | bd} (names of letters, digits, _; '
    'a URL must be fetched first), or {}')
RATIOS = distinct_list(RATIO[0], 'numbers in (0, 1), e.g. [0.25, 0.5, 0.75]')
CURVE_RATIOS = distinct_list(RATIO[0], 'numbers in (0, 1), e.g. [0.25, 0.75] ([]: the comparison only)', True)
SEEDS = distinct_list(lambda s: _integer(s) and s >= 0, 'integers >= 0, e.g. [0, 1, 2]')

RENAMED = {'baselines.tf_lambda': 'baselines.lambda_tf',  # old key -> new: one name per concept
           'prune.round_to': 'prune.align'}  # rounding up only gave units back; align rounds both ways at the same budget
SCHEMA: dict[str, dict[str, Check] | Check] = {
    'profile': one_of(*PROFILES),
    'seeds': SEEDS,
    'other_seeds': SEEDS,
    'data': {'prepared': PATH, 'vid4_gt': PATH_OR_NULL, 'reds': PATH_OR_NULL, 'vimeo90k': PATH_OR_NULL,
             'udm10': PATH_OR_NULL, 'train_set': one_of('reds', 'vimeo90k'),
             'degradations': distinct_list(lambda d: d in LR_DIRS, f'degradations of {list(LR_DIRS)}, e.g. [bi, bd]')},
    'training': {'clip_frames': ((lambda v: v is None or (_integer(v) and v >= 2)), 'an integer >= 2 or null'),
                 'gt_patch': ((lambda v: v is None or (_integer(v) and v >= 32 and v % 4 == 0)),
                              'a multiple of 4, >= 32, or null'),
                 'batch_size': ITERS},
    'train_dense': {'iters': ITERS_OR_ZERO, 'lr': POSITIVE_OR_NULL, 'init_from': PATH_OR_NULL,
                    'spynet_pretrained': PATH_OR_NULL, 'activation': one_of('auto', *ACTIVATIONS)},
    'sparsify': {'iters': ITERS, 'criterion': one_of(*CRITERIA), 'step': POSITIVE_OR_NULL,
                 'ceiling': POSITIVE_OR_NULL, 'update_interval': ITERS,
                 'stabilize_iters': ((lambda v: v is None or (_integer(v) and v >= 0)), 'an integer >= 0 or null')},
    'prune': {'ratios': CURVE_RATIOS, 'final_pick': one_of(*FINAL_PICKS),
              'align': ((lambda v: _integer(v) and v >= 1), 'an integer >= 1 (1: no alignment; 16 for AVX-512 / tensor cores)')},
    'finetune': {'iters': ITERS, 'lr': POSITIVE_OR_NULL, 'lambda_tf': NON_NEGATIVE},
    'baselines': {'ratios': RATIOS, 'lambda_tf': NON_NEGATIVE, 'lite_init_from': PATH_OR_NULL, 'lite_iters': ITERS},
    'evaluate': {'sets': SETS, 'max_seq_len': ITERS, 'max_frames': ITERS},
    'speed': {'lr_size': LR_SIZE, 'frames': POSITIVE, 'repeats': POSITIVE},
    'authors': {'checkpoints': AUTHORS_CHECKPOINTS},
    'tracking': {'log_models': BOOLEAN},
}


def _check(path: Path, key: str, value, check: Check) -> None:
    valid, expected = check
    if not valid(value):
        raise ParamsError(f'{path}: {key}={value!r} is invalid: expected {expected}')


def validate(params: dict, path: Path = PARAMS_FILE) -> dict:
    if not isinstance(params, dict):
        raise ParamsError(f'{path}: expected a mapping of {sorted(SCHEMA)}')
    for key in params:
        if key not in SCHEMA:
            raise ParamsError(f'{path}: unknown key {key!r}; known: {sorted(SCHEMA)}')
    missing = [k for k in SCHEMA if k not in params]
    if missing:
        raise ParamsError(f'{path}: missing group(s) {missing}; copy them from the repository\'s params.yaml')
    for group, spec in SCHEMA.items():
        if not isinstance(spec, dict):
            _check(path, group, params[group], spec)
            continue
        value = params[group]
        if not isinstance(value, dict):
            raise ParamsError(f'{path}: {group} must be a mapping of {sorted(spec)}')
        unknown, absent = sorted(set(value) - set(spec)), sorted(set(spec) - set(value))
        renamed = [f'{group}.{k}' for k in unknown if f'{group}.{k}' in RENAMED]
        if renamed:
            raise ParamsError(f'{path}: {renamed[0]} is now {RENAMED[renamed[0]]}: rename the key')
        if unknown:
            raise ParamsError(f'{path}: unknown key {group}.{unknown[0]}; known: {sorted(spec)}')
        if absent:
            raise ParamsError(f'{path}: missing key {group}.{absent[0]}; set it (null keeps the config default)')
        for key, check in spec.items():
            _check(path, f'{group}.{key}', value[key], check)
    dense = params['train_dense']
    if dense['iters'] == 0 and not dense['init_from']:
        raise ParamsError(f'{path}: train_dense.iters=0 trains nothing, so it needs train_dense.init_from (a trained '
                          f'BasicVSR checkpoint): set one, or iters to null')
    data = params['data']
    if params['profile'] == 'paper' and 'bd' in data['degradations'] and data['train_set'] == 'reds':
        raise ParamsError(f'{path}: data.degradations={data["degradations"]}: REDS has BI LR only; BD models train '
                          'on Vimeo-90K (the paper\'s BD models): set data.train_set to vimeo90k, or drop bd')
    strays = [s for s in params['other_seeds'] if s not in params['seeds']]
    if strays:  # SSL + TF (other_seeds) finetunes SSL's pruned model (seeds) of the same seed
        raise ParamsError(f'{path}: other_seeds={params["other_seeds"]}: {strays} not in seeds {params["seeds"]} '
                          '(SSL + TF finetunes SSL\'s pruned model of the same seed): add them to seeds')
    both = [r for r in params['baselines']['ratios'] if r in params['prune']['ratios']]
    if both:  # a params.yaml from before the comparison had its own seeds: 0.5 was in both lists
        raise ParamsError(f'{path}: prune.ratios={params["prune"]["ratios"]} repeats baselines.ratios {both}: '
                          'prune.ratios lists only the curve\'s other ratios (SSL and L1-norm run at both lists); '
                          f'remove {both} from prune.ratios')
    return params


def param(params: dict, key: str):
    """The value of a ``group.key`` (or top-level) name, as errors and docs spell it, in loaded params."""
    value = params
    for part in key.split('.'):
        value = value[part]
    return value


def load_params(path: Path = PARAMS_FILE) -> dict:
    """params.yaml, validated against SCHEMA."""
    if not path.is_file():
        raise ParamsError(f'{path}: not found; run from the repository root')
    try:
        params = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        mark = getattr(err, 'problem_mark', None)
        where = f' at line {mark.line + 1}' if mark else ''
        raise ParamsError(f'{path}: not valid YAML{where}; fix the syntax') from None
    return validate(params or {}, path)


if __name__ == '__main__':  # scripts/run.sh: params.yaml checked before DVC parses it (`seeds: 0`)
    from .errors import exit_on_user_error
    exit_on_user_error(load_params)()
