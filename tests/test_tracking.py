import mlflow
import pytest
from mlflow.tracking import MlflowClient

from ssl_mm.errors import TrackingError
from ssl_mm.tracking import MLflowActiveRunBackend, finish_pipeline_run, setup, stage_run


def test_stage_runs_nest_under_one_pipeline_run_per_execution(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for ratio in (0.25, 0.5):  # two pipeline executions
        for stage in ('sparsify', 'prune'):
            with stage_run(stage, {'ratio': ratio, 'nested': {'k': 1}}, {'prune_ratio': ratio}, root=tmp_path):
                MLflowActiveRunBackend().add_scalars({'train/loss': 1 - ratio}, step=3)
                mlflow.log_metric('kept', 1 - ratio)
        finish_pipeline_run(tmp_path)
    client = MlflowClient()
    experiment = client.get_experiment_by_name('ssl-mm')
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if 'mlflow.parentRunId' not in r.data.tags]
    stages = [r for r in runs if 'mlflow.parentRunId' in r.data.tags]
    assert len(parents) == 2 and all(r.info.status == 'FINISHED' for r in parents)
    assert len(stages) == 4 and {r.data.tags['mlflow.parentRunId'] for r in stages} == {r.info.run_id for r in parents}
    sparsify = sorted((r for r in stages if r.data.tags['stage'] == 'sparsify'), key=lambda r: r.data.params['ratio'])
    assert [r.data.params['ratio'] for r in sparsify] == ['0.25', '0.5']
    assert sparsify[0].data.params['nested.k'] == '1'
    assert [m.step for m in client.get_metric_history(sparsify[0].info.run_id, 'train/loss')] == [3]
    assert (tmp_path / 'mlflow.db').is_file()


@pytest.mark.parametrize('damage', ['not a database', 'a folder'])
def test_unusable_store_is_named_in_one_line(tmp_path, damage):
    store = tmp_path / 'mlflow.db'
    store.mkdir() if damage == 'a folder' else store.write_text(damage)
    with pytest.raises(TrackingError, match=r'mlflow.db: MLflow store not usable \(.*\); make .* writable') as err:
        setup(tmp_path)
    assert '\n' not in str(err.value)
