"""Stage report: the paper table (every method and ratio, mean +- std over seeds, beside the
paper's), the figures and reports/README.md, all regenerated from the metrics and model files;
closes the pipeline's MLflow parent run."""
from pathlib import Path

import torch

from ..cells import PRUNED, UNDER_TEST, VISUAL, Cell, cells, dense_cell
from ..errors import DataError
from ..eval import PROTOCOLS
from ..eval.benchmark_sets import load_test_set
from ..eval.evaluate import bicubic_upscaler, network_upscaler
from ..models.flow_cache import cache_flows
from ..params import load_params
from ..pruning import load_network
from ..reports import figures
from ..reports.readme import write_readme
from ..reports.results import collect, label
from ..reports.tables import build_paper_table, write_paper_table
from ..reports.visual import visual_comparison
from ..runtime import for_cpu_inference
from ..tracking import finish_pipeline_run, stage_run, tracked
from . import run_stage

REPORTS = Path('reports')


def visual_figures(params: dict, ratio: float, seed: int, lr: str, out: Path) -> list[Path]:
    """The same crop from GT, Bicubic, dense and each VISUAL method's final network (this ratio,
    seed and degradation): Vid4's calendar and the first embedded clip, where prepared."""
    stems = {'dense': dense_cell(lr).network('dense'), **{m: Cell(m, ratio, seed, lr).final_network() for m in VISUAL}}
    upscalers = {'bicubic': bicubic_upscaler()}
    for name, stem in stems.items():
        upscalers[name] = network_upscaler(cache_flows(for_cpu_inference(load_network(f'{stem}.py', f'{stem}.pth'))))
    made, data, p = [], params['data'], params['evaluate']
    for set_name, clip_name in ((f'vid4_{lr}', 'calendar'), (f'embedded_{lr}', None)):
        try:
            clips = load_test_set(set_name, data['prepared'], data)
        except DataError:  # not prepared here (no Vid4 GT): no figure for it
            continue
        clip = next((c for c in clips if c.name == clip_name), clips[0])
        protocol = PROTOCOLS[set_name].with_overrides(max_seq_len=p['max_seq_len'], max_frames=p['max_frames'])
        title = (f'{set_name}: ratio {ratio}, seed {seed}, {params["profile"]} profile; '
                 'Y-PSNR of this frame under each title')
        made.append(visual_comparison(upscalers, {n: label(n) for n in upscalers}, clip, protocol, title,
                                      out / f'visual_{set_name.rsplit("_", 1)[0]}.png'))
    return made


def main() -> None:
    """Regenerate reports/: the paper table, the figures and reports/README.md from the metrics and
    networks on disk; close the pipeline's MLflow run."""
    params = load_params()
    profile, out, sets = params['profile'], REPORTS / 'figures', list(params['evaluate']['sets'])
    # The per-network figures show the first seed and degradation at the first ratio every method runs at.
    ratio, seed, lr = params['baselines']['ratios'][0], params['seeds'][0], params['data']['degradations'][0]
    ssl, dense = Cell(UNDER_TEST, ratio, seed, lr), dense_cell(lr).network('dense')
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
            *visual_figures(params, ratio, seed, lr, out),
        ]
        paths += [*made, write_readme(REPORTS, results, unavailable, params, made)]
        for path in paths:
            tracked.log_artifact(str(path), 'reports' if path.parent == REPORTS else 'reports/figures')
    finish_pipeline_run()


if __name__ == '__main__':
    run_stage(main)
