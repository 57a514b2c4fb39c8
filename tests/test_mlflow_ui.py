"""The MLflow UI in a real browser (Debian's chromium, driven by Playwright) over a store that the
real ``stage_run`` filled: what a user comparing prune ratios sees.

MLflow 3.17's UI, found by reading its bundle and checked here:
- The experiment page picks its view from a per-browser "workflow type" (the sidebar's GenAI /
  Model training switch, kept in localStorage, default GenAI), not from the experiment's
  ``mlflow.experimentKind`` tag: a fresh browser opens ``#/experiments/<id>`` on the GenAI
  overview. ``?workflowType=machine_learning`` in the URL opens the runs table.
- A search filter matches the nested result runs, but while the table is sorted by "Created"
  (the default) it nests them under their (fetched) parent run, collapsed. Sorted by anything else,
  e.g. prune_ratio, the matching runs are rows of their own and the parent is not shown.
"""
import contextlib
import os
import re
import subprocess
import time
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient
from test_tracking import mlflow_server

from ssl_mm.tracking import finish_pipeline_run, stage_run, tracking_uri

CHROMIUM = Path('/usr/bin/chromium')  # Debian's package; Playwright's own browser download is not used
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync', '--no-proxy-server']
RESULTS = {  # (method, prune ratio) -> made-up vid4_bi_psnr_y, all distinct
    ('ssl', 0.25): 26.91, ('ssl', 0.5): 26.53, ('ssl', 0.75): 25.87,
    ('l1_norm', 0.25): 26.42, ('l1_norm', 0.5): 25.96, ('l1_norm', 0.75): 25.14,
}


@pytest.fixture(scope='session')
def chromium() -> Path:
    """Debian's chromium, installed with apt-get when missing (root only). Fails, never skips."""
    if not CHROMIUM.is_file():
        if os.geteuid() != 0:
            pytest.fail(f'{CHROMIUM} is missing and this is not root: run `apt-get install -y chromium` as root')
        env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
        try:
            done = subprocess.run('apt-get update -q && apt-get install -y -q --no-install-recommends chromium fonts-liberation',
                                  shell=True, env=env, capture_output=True, text=True, timeout=900)
            output = done.stdout[-1500:] + done.stderr[-1500:]
        except (OSError, subprocess.TimeoutExpired) as err:
            output = str(err)
        if not CHROMIUM.is_file():
            pytest.fail(f'{CHROMIUM} is missing and `apt-get install -y chromium` did not install it: {output}')
    return CHROMIUM


@pytest.fixture(scope='session')
def sync_playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as err:
        pytest.fail(f"Playwright is missing ({err}): .venv/bin/pip install -c requirements.lock -e '.[test]'")
    return sync_playwright


@pytest.fixture
def store(tmp_path, monkeypatch) -> tuple[Path, dict]:
    """A repository's local store as the pipeline fills it: ordinary stage runs and one result run
    per (method, ratio, seed), nested under one pipeline run. Returns the root and the result run
    ids by (method, ratio)."""
    root = tmp_path / 'repo'
    root.mkdir()
    monkeypatch.chdir(root)
    monkeypatch.delenv('MLFLOW_TRACKING_URI', raising=False)
    with stage_run('sparsify@ssl-0.5-0', {'iters': 8, 'criterion': 'L1', 'ratio': 0.5}, {'profile': 'default'}, root=root):
        mlflow.log_metric('train_ssl_lambda', 0.002)
    with stage_run('prune@ssl-0.5-0', {'ratio': 0.5}, {'profile': 'default'}, root=root):
        mlflow.log_metric('kept_unit_fraction', 0.5)
    ids = {}
    for (method, ratio), psnr in RESULTS.items():
        params = {'method': method, 'prune_ratio': ratio, 'seed': 0, 'lambda_tf': 0.0, 'profile': 'default'}
        with stage_run(f'evaluate@{method}-{ratio}-0', params, {'profile': 'default'}, root=root) as run:
            mlflow.log_metrics({'vid4_bi_psnr_y': psnr, 'vid4_bi_ssim_y': psnr / 35, 'embedded_bi_psnr_y': psnr + 3,
                                'gmacs': 200 * (1 - ratio), 'gmacs_without_spynet': 150 * (1 - ratio),
                                'params_m': 6.3 * (1 - ratio), 'mac_ratio': 1 - ratio, 'cpu_speedup': 1 / (1 - ratio)})
            ids[method, ratio] = run.info.run_id
    finish_pipeline_run(root)
    return root, ids


def _rows(page) -> list[dict[str, str]]:
    """The runs table as rendered (ag-grid: the pinned Run Name part and the scrolling part are
    separate rows with the same row-id), in display order: {'id', 'name', col-id: text}."""
    rows: dict[str, dict] = {}
    body_rows = page.locator('.ag-pinned-left-cols-container [role=row], .ag-center-cols-container [role=row]')
    body_rows.first.wait_for()
    for row in body_rows.all():
        cells = rows.setdefault(row.get_attribute('row-id'), {'index': int(row.get_attribute('row-index'))})
        for cell in row.locator('[role=gridcell][col-id]').all():
            cells[cell.get_attribute('col-id')] = cell.inner_text().strip()
    table = []
    for run_id, cells in sorted(rows.items(), key=lambda item: item[1]['index']):
        name = cells.get('attributes.`Run Name`', '').splitlines()
        table.append({'id': run_id, 'name': name[-1] if name else '', **cells})
    return table


def _check_column(page, name: str) -> None:
    """Ticks ``name`` in the Columns selector (typed into its search), unless already ticked."""
    page.get_by_placeholder('Search columns').fill(name)
    node = page.locator('.du-bois-light-tree-treenode', has=page.get_by_text(name, exact=True))
    node.wait_for()
    if 'checkbox-checked' not in (node.get_attribute('class') or ''):
        node.locator('.du-bois-light-tree-checkbox').click()
    node.and_(page.locator('[class*=checkbox-checked]')).wait_for()


def test_user_compares_prune_ratios_in_the_mlflow_ui(store, chromium, sync_playwright, tmp_path):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect
    expect.set_options(timeout=30_000)  # the page and the server share 2 busy cores in CI

    root, ids = store
    experiment_id = MlflowClient(tracking_uri(root)).get_experiment_by_name('ssl-mm').experiment_id
    start = time.monotonic()
    with mlflow_server(root / 'mlflow.db', root / 'mlartifacts') as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / 'chromium-profile'), executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS,
            viewport={'width': 1800, 'height': 900})
        try:
            page = browser.pages[0] if browser.pages else browser.new_page()
            page.set_default_timeout(30_000)
            # The README's link: opens the training-runs table, not the GenAI overview.
            page.goto(f'{url}/#/experiments/{experiment_id}?workflowType=machine_learning')
            search = page.get_by_test_id('search-box')
            expect(search).to_be_visible()
            expect(page).to_have_url(re.compile(rf'#/experiments/{experiment_id}/runs\?'))  # redirected there
            expect(page.get_by_role('heading', name='Runs', exact=True)).to_be_visible()
            assert page.get_by_text('Token Usage').count() == 0  # a GenAI overview panel
            close_assistant = page.locator('[data-component-id="mlflow.assistant.chat_panel.close"]')
            try:  # the assistant side panel opens on a browser's first visit: give the table its width
                close_assistant.click(timeout=5_000)
            except PlaywrightTimeout:  # not opened: nothing to close
                pass

            # The user types the filter. Sorted by "Created" (the default), the three matching result
            # runs sit collapsed under their pipeline run: 3 matches + the parent fetched for them.
            search.fill("params.method = 'ssl'")
            search.press('Enter')
            expect(page.get_by_text('4 matching runs', exact=True)).to_be_visible()
            expect(page).to_have_url(re.compile(re.escape('searchFilter=params.method+%3D+%27ssl%27')))
            collapsed = _rows(page)
            page.screenshot(path=str(tmp_path / 'mlflow_runs_filtered_default_sort.png'))
            assert len(collapsed) == 1 and collapsed[0]['name'].startswith('pipeline '), collapsed

            # Sorted by prune_ratio (ascending), the matching runs are rows of their own.
            page.get_by_test_id('sort-select-dropdown').click()
            page.get_by_test_id('sort-select-prune_ratio').click()
            page.get_by_test_id('sort-select-dropdown').click()
            page.get_by_test_id('sort-select-asc').click()
            page.keyboard.press('Escape')
            expect(page.get_by_text('3 matching runs', exact=True)).to_be_visible()
            expect(page).to_have_url(re.compile(re.escape('orderByKey=params.%60prune_ratio%60&orderByAsc=true')))
            page.get_by_role('button', name='Columns').click()
            _check_column(page, 'vid4_bi_psnr_y')
            _check_column(page, 'prune_ratio')  # sorting by it already added it
            page.keyboard.press('Escape')
            expect(page.locator('[role=columnheader][col-id="metrics.`vid4_bi_psnr_y`"]')).to_be_visible()
            expect(page.locator('[role=columnheader][col-id="params.`prune_ratio`"]')).to_be_visible()
            page.wait_for_timeout(500)
            page.screenshot(path=str(tmp_path / 'mlflow_runs_filtered.png'))
            rows = _rows(page)
        except Exception:
            with contextlib.suppress(Exception):  # what the browser showed, next to the server's log
                page.screenshot(path=str(tmp_path / 'mlflow_ui_failure.png'))
            raise
        finally:
            browser.close()
    print(f'server + browser: {time.monotonic() - start:.1f} s; screenshot: {tmp_path / "mlflow_runs_filtered.png"}')

    want = [(ids['ssl', r], f'evaluate@ssl-{r}-0', f'{r}', f'{RESULTS["ssl", r]:.2f}') for r in (0.25, 0.5, 0.75)]
    got = [(r['id'], r['name'], r.get('params.`prune_ratio`'), r.get('metrics.`vid4_bi_psnr_y`')) for r in rows]
    assert got == want  # no l1_norm run, no parent, no other stage: only the three ssl results, in ratio order
    assert (tmp_path / 'mlflow_runs_filtered.png').stat().st_size > 10_000
