"""Stage report: the results table (reference vs reproduced), regenerated from metrics files;
closes the pipeline's MLflow parent run."""
import mlflow

from ..reports.tables import build_results_table, write_table
from ..tracking import finish_pipeline_run, stage_run
from .common import load_params


def main() -> None:
    params = load_params()
    with stage_run('report', {'profile': params['profile']}, {'profile': params['profile'],
                                                             'prune_ratio': params['prune']['ratio']}):
        table = build_results_table('metrics', params)
        paths = write_table(table, 'reports', params)
        for path in paths:
            mlflow.log_artifact(str(path))
    finish_pipeline_run()


if __name__ == '__main__':
    main()
