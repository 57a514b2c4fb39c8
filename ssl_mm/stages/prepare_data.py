"""Stage prepare_data: embedded clips, Vid4 (when present) and checks of external sets."""
import mlflow

from ..data.prepare import prepare
from ..data.sources import DataError
from ..tracking import stage_run
from .common import load_params


def main() -> None:
    params = load_params()
    data = params['data']
    with stage_run('prepare_data', data, {'profile': params['profile']}):
        try:
            summary = prepare(data['prepared'], vid4=data['vid4_gt'], reds=data['reds'],
                              vimeo90k=data['vimeo90k'], udm10=data['udm10'])
        except DataError as err:
            raise SystemExit(f'prepare_data: {err}') from None
        mlflow.log_dict(summary, 'summary.json')
        for name, entry in summary.items():
            mlflow.set_tag(f'data.{name}', entry.get('skipped', 'prepared'))


if __name__ == '__main__':
    main()
