"""Stage prepare_data: embedded clips, Vid4 (when present) and checks of external sets."""

from ..data.prepare import prepare
from ..errors import named_as
from ..io import atomic_dir
from ..params import load_params
from ..profiles import ROOT_KEYS
from ..tracking import stage_run, tracked
from . import run_stage


def main() -> None:
    """Write data/prepared (embedded clips, Vid4 when present, checks of the external sets), built
    aside and swapped in whole."""
    params = load_params()
    data = params['data']
    with stage_run('prepare_data', data, {'profile': params['profile']}):
        # Built aside and swapped in whole: a failure leaves the previous data/prepared intact.
        with atomic_dir(data['prepared']) as out, named_as(**ROOT_KEYS):
            summary = prepare(out, vid4=data['vid4_gt'], reds=data['reds'], vimeo90k=data['vimeo90k'],
                              udm10=data['udm10'])
        tracked.log_dict(summary, 'summary.json')
        for name, entry in summary.items():
            tracked.set_tag(f'data.{name}', entry.get('skipped', 'prepared'))


if __name__ == '__main__':
    run_stage(main)
