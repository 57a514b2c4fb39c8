"""Stage report: the paper table (every method and ratio, mean +- std over seeds, beside the
paper's), the figures and reports/README.md, all regenerated from the metrics and model files;
closes the pipeline's MLflow parent run."""
from pathlib import Path

import torch

from ..pruning import load_network
from ..reports import figures
from ..reports.readme import write_readme
from ..reports.results import collect
from ..reports.tables import build_paper_table, write_paper_table
from ..tracking import finish_pipeline_run, stage_run, tracked
from .common import load_params, run_stage
from .methods import PRUNED, Cell, cells, dense_cell

REPORTS = Path('reports')


def main() -> None:
    params = load_params()
    profile, out, sets = params['profile'], REPORTS / 'figures', list(params['evaluate']['sets'])
    # The per-network figures show the first seed and degradation at the first ratio every method runs at.
    ratio, seed, lr = params['baselines']['ratios'][0], params['seeds'][0], params['data']['degradations'][0]
    ssl, dense = Cell('ssl', ratio, seed, lr), dense_cell(lr).network('dense')
    with stage_run('report', {'profile': profile}, {'profile': profile}):
        results, unavailable = collect(params)
        paths = write_paper_table(results, build_paper_table(results, unavailable, params), REPORTS, params)
        picked = torch.load(ssl.dir / 'sparsify_state.pt', map_location='cpu', weights_only=True)['picked']
        searched = ssl.network('sparsified')
        curves = {stage: [c.curve(stage) for c in cells(params) if c.curve(stage).is_file()]
                  for stage in ('train', 'sparsify', 'finetune')}
        made = [
            figures.psnr_vs_macs(results, sets, profile, out / 'psnr_vs_macs.png'),
            figures.psnr_vs_ratio(results, sets, profile, out / 'psnr_vs_ratio.png'),
            figures.speedup_vs_mac_ratio(results, profile, out / 'speedup_vs_mac_ratio.png'),
            figures.kept_channels({m: Cell(m, ratio, seed, lr).metrics('kept_channels') for m in PRUNED}, profile,
                                  f'ratio {ratio}, seed {seed}, {lr.upper()}', out / 'kept_channels.png'),
            figures.scale_distribution(load_network(f'{dense}.py', f'{dense}.pth'),
                                       load_network(f'{searched}.py', f'{searched}.pth'),
                                       picked, profile, out / 'scale_distribution.png'),
            figures.training_curves(curves, profile, out / 'training_curves.png'),
        ]
        paths += [*made, write_readme(REPORTS, results, unavailable, params, made)]
        for path in paths:
            tracked.log_artifact(str(path), 'reports' if path.parent == REPORTS else 'reports/figures')
    finish_pipeline_run()


if __name__ == '__main__':
    run_stage(main)
