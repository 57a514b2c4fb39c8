"""Stage report: the paper table (reference vs reproduced), the figures and reports/README.md,
all regenerated from the metrics and model files; closes the pipeline's MLflow parent run."""
from pathlib import Path

import mlflow
import torch

from ..errors import exit_on_user_error
from ..pruning import load_network
from ..reports import figures
from ..reports.readme import write_readme
from ..reports.tables import build_paper_table, write_paper_table
from ..tracking import finish_pipeline_run, stage_run
from .common import load_params

METRICS, REPORTS = Path('metrics'), Path('reports')


def main() -> None:
    params = load_params()
    profile, out = params['profile'], REPORTS / 'figures'
    with stage_run('report', {'profile': profile}, {'profile': profile, 'prune_ratio': params['prune']['ratio']}):
        paths = write_paper_table(build_paper_table(METRICS, params), REPORTS, params)
        picked = torch.load('models/ssl/sparsify_state.pt', map_location='cpu', weights_only=True)['picked']
        made = [
            figures.psnr_vs_macs(METRICS, list(params['evaluate']['sets']), profile, out / 'psnr_vs_macs.png'),
            figures.speedup_vs_mac_ratio(METRICS, profile, out / 'speedup_vs_mac_ratio.png'),
            figures.kept_channels(METRICS, profile, out / 'kept_channels.png'),
            figures.scale_distribution(load_network('models/dense.py', 'models/dense.pth'),
                                       load_network('models/ssl/sparsified.py', 'models/ssl/sparsified.pth'),
                                       picked, profile, out / 'scale_distribution.png'),
            figures.training_curves(METRICS, profile, out / 'training_curves.png'),
        ]
        paths += [*made, write_readme(REPORTS, METRICS, params, made)]
        for path in paths:
            mlflow.log_artifact(str(path), 'reports' if path.parent == REPORTS else 'reports/figures')
    finish_pipeline_run()


if __name__ == '__main__':
    exit_on_user_error(main)()
