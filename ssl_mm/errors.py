"""Errors a user can fix (a typo in params.yaml, a broken frame, a checkpoint of another model).

Their message is one line: what is wrong, where (file or key) and how to fix it. Pipeline stages
and the ``ssl-mm`` CLI print it without a traceback and exit with status 2, before anything is
written, so earlier results stay as they were. Anything else is a bug and keeps its traceback.
"""
from __future__ import annotations

import functools
import sys
from typing import Callable


class UserError(Exception):
    """Bad input, with a one-line message naming the file/key and the fix."""


class ParamsError(UserError, ValueError):
    """params.yaml (or a CLI option) is invalid."""


class DataError(UserError, ValueError):
    """A data set, clip or frame is missing or broken."""


class CheckpointError(UserError, ValueError):
    """A checkpoint is corrupt, truncated or of another architecture."""


class TrackingError(UserError, RuntimeError):
    """The MLflow store cannot be used."""


def exit_on_user_error(main: Callable[[], None]) -> Callable[[], None]:
    """Run ``main``; a :class:`UserError` becomes ``error: <message>`` on stderr and exit 2."""
    @functools.wraps(main)
    def run() -> None:
        try:
            main()
        except UserError as err:
            print(f'error: {err}', file=sys.stderr)
            raise SystemExit(2) from None
    return run
