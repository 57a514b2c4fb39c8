"""The paper table, figures and README from given metrics files: right numbers in the right
cells, unavailable sets marked (never dropped), the paper's numbers beside ours."""
import json
import math

import matplotlib.image
import pytest
import yaml

from ssl_mm.reports import figures
from ssl_mm.reports.readme import reading, write_readme
from ssl_mm.reports.tables import build_paper_table, write_paper_table

COST = dict(macs_total=40e9, macs_total_without_spynet=1.5e9, params_without_spynet=16000,
            cpu_seconds_per_frame=0.15, lr_height=180, lr_width=320)
DENSE = dict(COST, macs_total=47e9, macs_total_without_spynet=7.6e9, params_without_spynet=64000,
             cpu_seconds_per_frame=0.18)


def _write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


@pytest.fixture
def metrics(tmp_path):
    root = tmp_path / 'metrics'
    psnr = {'bicubic': 23.78, 'dense': 24.22, 'ssl': 24.29, 'l1_norm': 24.01, 'lite': 23.95}
    _write(root / 'eval' / 'metrics.json', {
        name: {'embedded_bi': {'psnr_y': value + 6, 'ssim_y': 0.86},
               'vid4_bi': {'psnr_y': value, 'ssim_y': 0.6719}} for name, value in psnr.items()})
    _write(root / 'eval' / 'unavailable.json', {'reds4': 'REDS root not set in params.yaml'})
    _write(root / 'prune' / 'ssl.json', {'model': COST, 'dense': DENSE, 'mac_ratio': 47 / 40, 'cpu_speedup': 1.2})
    _write(root / 'prune' / 'l1_norm.json', {'model': dict(COST, macs_total=41e9), 'dense': DENSE,
                                              'mac_ratio': 47 / 41, 'cpu_speedup': 1.1})
    for name, iters in (('train_dense.json', 1200), ('sparsify/ssl.json', 400), ('finetune/ssl.json', 800)):
        _write(root / name, {'iters': iters})
    return root


@pytest.fixture
def params(repo):
    params = yaml.safe_load((repo / 'params.yaml').read_text())
    params['evaluate']['sets'] = ['embedded_bi', 'vid4_bi', 'reds4']
    return params


def _row(table, method, source):
    rows = table[(table['method'] == method) & table['source'].str.startswith(source)]
    assert len(rows) == 1, (method, source)
    return rows.iloc[0]


def test_table_puts_reference_and_reproduced_numbers_in_their_cells(metrics, params):
    table = build_paper_table(metrics, params)
    ssl = _row(table, 'SSL', 'this run')
    assert ssl['vid4_bi'] == '24.29 / 0.6719' and ssl['embedded_bi'] == '30.29 / 0.8600'
    assert ssl['source'] == 'this run (default profile, 1200/400/800 it. dense/sparsify/finetune)'
    assert ssl['GMACs/frame'] == pytest.approx(40.0) and ssl['GMACs/frame w/o SPyNet'] == pytest.approx(1.5)
    assert ssl['MAC ratio'] == pytest.approx(47 / 40) and ssl['CPU speed-up'] == pytest.approx(1.2)
    assert ssl['params (M, w/o SPyNet)'] == pytest.approx(0.016)
    assert _row(table, 'BasicVSR (dense)', 'this run')['GMACs/frame'] == pytest.approx(47.0)
    assert _row(table, 'L1-norm (per layer)', 'this run')['GMACs/frame'] == pytest.approx(41.0)
    paper = _row(table, 'SSL', 'paper')
    assert paper['vid4_bi'] == '27.15 / 0.8208' and paper['reds4'] == '31.06 / 0.8833'
    assert paper['params (M, w/o SPyNet)'] == 1.0 and math.isnan(paper['GMACs/frame'])
    assert paper['embedded_bi'] == 'not in paper'
    # Side by side: each paper row comes right after ours for the same method.
    index = table.index[(table['method'] == 'SSL') & table['source'].str.startswith('this run')][0]
    assert table.loc[index + 1, 'source'] == 'paper (Table 1)' and table.loc[index + 1, 'method'] == 'SSL'


def test_missing_sets_and_methods_are_marked_not_dropped(metrics, params):
    table = build_paper_table(metrics, params)
    ours = table[table['source'].str.startswith('this run')]
    assert len(ours) == 8  # every method has its row, measured or not
    assert set(ours['reds4']) == {'not available'}  # requested, not on this machine
    assert set(ours['vid4_bd']) == {'not run'}  # not requested (BD models)
    assd = _row(table, 'ASSL-style (aligned residual channels)', 'this run')  # no metrics at all
    assert assd['vid4_bi'] == 'not run' and math.isnan(assd['GMACs/frame'])
    assert table[['reds4', 'vid4_bi', 'vid4_bd']].notna().all().all()


def test_written_table_states_its_conventions(metrics, params, tmp_path):
    csv_path, md_path = write_paper_table(build_paper_table(metrics, params), tmp_path / 'reports', params)
    text = md_path.read_text()
    assert '180x320' in text and 'paper (Table 1)' in text and 'not available' in text
    assert csv_path.read_text().splitlines()[0].startswith('method,source,"params (M, w/o SPyNet)",GMACs/frame')


def test_figures_and_readme_are_written(metrics, params, tmp_path):
    out = tmp_path / 'figures'
    made = [figures.psnr_vs_macs(metrics, params['evaluate']['sets'], 'default', out / 'psnr.png'),
            figures.speedup_vs_mac_ratio(metrics, 'default', out / 'speed.png')]
    for path in made:
        image = matplotlib.image.imread(path)
        assert image.shape[0] > 300 and image.shape[1] > 300 and image.std() > 0.01  # drawn, not blank
    lines = reading(metrics, params['evaluate']['sets'])
    assert any('**vid4_bi**: SSL 24.29 dB; +0.28 dB vs L1-norm (per layer) (paper: +0.28 dB)' in line
               for line in lines), lines
    readme = write_readme(tmp_path, metrics, params, made).read_text()
    assert 'reds4 (REDS root not set in params.yaml)' in readme and '](figures/psnr.png)' in readme
