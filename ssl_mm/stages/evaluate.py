"""Stage evaluate: Bicubic, the dense network, SSL's pruned network before finetuning, and every
method's final network on every requested test set under its protocol; sets that are not
available are recorded as such."""
from pathlib import Path

import mlflow
import pandas as pd

from ..errors import DataError, exit_on_user_error
from ..eval import PROTOCOLS, bicubic_upscaler, evaluate, network_upscaler, write_results
from ..eval.test_sets import load_test_set
from ..flops import for_cpu_inference, keep_freed_memory_for_reuse
from ..pruning import load_network
from ..tracking import stage_run
from .common import load_params, write_json
from .methods import METHODS, final_network, pruned_network


def networks() -> dict[str, Path]:
    """Evaluated name -> path stem of its network."""
    return {'dense': final_network('dense'), 'ssl_pruned': pruned_network('ssl'),
            **{method: final_network(method) for method in METHODS}}


def main() -> None:
    params = load_params()
    p, data = params['evaluate'], params['data']
    keep_freed_memory_for_reuse()
    upscalers = {'bicubic': bicubic_upscaler()}
    upscalers.update({name: network_upscaler(for_cpu_inference(load_network(f'{path}.py', f'{path}.pth')))
                      for name, path in networks().items()})
    tags = {'profile': params['profile'], 'prune_ratio': params['prune']['ratio'],
            'lambda_tf': params['finetune']['lambda_tf']}
    with stage_run('evaluate', p, tags):
        protocols, frames, unavailable = {}, [], {}
        for name in p['sets']:
            try:
                clips = load_test_set(name, data['prepared'], data)
            except DataError as err:
                unavailable[name] = str(err)
                continue
            protocols[name] = PROTOCOLS[name].with_overrides(max_seq_len=p['max_seq_len'])
            frames += [evaluate(up, clips, protocols[name], method=method) for method, up in upscalers.items()]
        if not frames:
            raise DataError(f'params.yaml: none of evaluate.sets is available ({unavailable}); add an available set')
        metrics = write_results(pd.concat(frames), 'metrics/eval', protocols)
        write_json('metrics/eval/unavailable.json', unavailable)
        for method in upscalers:
            for set_name, values in metrics[method].items():
                mlflow.log_metrics({f'{method}.{set_name}.{k}': v for k, v in values.items()})
        mlflow.log_artifacts('metrics/eval', 'eval')


if __name__ == '__main__':
    exit_on_user_error(main)()
