"""One thin module per DVC stage (``python -m ssl_mm.stages.<name>``): read its params group,
call the rooms of the package, write outputs and metrics, log an MLflow stage run. Training
plumbing is ``ssl_mm.training``; what the cells are, ``ssl_mm.cells``."""
import atexit
import multiprocessing
import os
import sys
from typing import Callable

from ..errors import exit_on_user_error
from .warm import hand_over_if_served

hand_over_if_served()  # under scripts/run.sh, `python -m ssl_mm.stages.<name>` runs in the warm stage server


def run_stage(main: Callable[[], None]) -> None:
    """A stage's entry point: ``main`` with one-line user errors (exit 2), then a quick exit.

    When ``main`` returns, every output is written and closed and the MLflow run has ended; what
    is left is the interpreter tearing down the ~6,000 modules of torch, MMagic and MLflow, about
    1.5 s per stage (measured), and the default pipeline runs dozens. So the exit handlers run
    (logging and MLflow flush there) and the process ends without that teardown. Not while child
    processes live (data-loader workers): they get the ordinary exit that waits for them."""
    exit_on_user_error(main)()
    if multiprocessing.active_children():
        return
    atexit._run_exitfuncs()  # what a normal exit runs first (CPython's own hook)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
