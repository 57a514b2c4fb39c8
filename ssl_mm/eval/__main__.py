"""Evaluate the Bicubic baseline and/or a model on test sets under their protocols.

    python -m ssl_mm.eval --prepared data/prepared --sets vid4_bi vid4_bd --bicubic
    python -m ssl_mm.eval --prepared data/prepared --sets embedded_bi \\
        --model models/ssl/bi-ratio0.5-seed0/finetuned.py models/ssl/bi-ratio0.5-seed0/finetuned.pth --out eval_results

Bad input (a missing set root, a corrupt frame or checkpoint) gets one line and exit status 2.
"""
from __future__ import annotations

import argparse

import pandas as pd

from ..errors import exit_on_user_error, named_as
from ..pruning.checkpoint import load_network
from . import PROTOCOLS
from .benchmark_sets import load_test_set
from .evaluate import bicubic_upscaler, evaluate, network_upscaler, summarize, write_results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--prepared', default='data/prepared', help='output folder of prepare_data')
    parser.add_argument('--sets', nargs='+', default=['vid4_bi', 'vid4_bd'], choices=sorted(PROTOCOLS))
    parser.add_argument('--bicubic', action='store_true', help='also score MATLAB bicubic x4')
    parser.add_argument('--model', nargs=2, metavar=('CONFIG', 'CHECKPOINT'),
                        help='a network saved by ssl_mm.pruning.save_network')
    parser.add_argument('--max-seq-len', type=int, default=None, help='run clips in chunks')
    parser.add_argument('--reds'), parser.add_argument('--vimeo90k'), parser.add_argument('--udm10')
    parser.add_argument('--out', help='write per_clip.csv, per_set.csv, metrics.json here')
    args = parser.parse_args(argv)
    if not args.bicubic and not args.model:
        parser.error('nothing to evaluate: give --bicubic and/or --model')

    upscalers = {}
    if args.bicubic:
        upscalers['bicubic'] = bicubic_upscaler()
    if args.model:
        upscalers['model'] = network_upscaler(load_network(*args.model))
    roots = dict(reds=args.reds, vimeo90k=args.vimeo90k, udm10=args.udm10)
    protocols = {s: PROTOCOLS[s].with_overrides(max_seq_len=args.max_seq_len) for s in args.sets}
    with named_as(reds='--reds', vimeo90k='--vimeo90k', udm10='--udm10', vid4_gt='--vid4 of ssl_mm.data.prepare'):
        per_clip = pd.concat([evaluate(upscalers, load_test_set(name, args.prepared, roots), protocols[name])
                              for name in args.sets])
    pd.set_option('display.float_format', '{:.4f}'.format)
    print(per_clip.to_string(index=False))
    print(summarize(per_clip).to_string(index=False))
    if args.out:
        write_results(per_clip, args.out, protocols)


if __name__ == '__main__':
    exit_on_user_error(main)()
