"""Errors a user can fix (a typo in params.yaml, a broken frame, a checkpoint of another model).

Their message is one line: what is wrong, where (file or key) and how to fix it. Pipeline stages
and the ``ssl-mm`` CLI print it without a traceback and exit with status 2, before anything is
written, so earlier results stay as they were. Anything else is a bug and keeps its traceback.

The library does not know where a value came from, so it names a bad argument as its own
parameter (:class:`ArgumentError`, e.g. ``ratio``; :class:`RootError` for data roots, e.g. ``reds``);
the stage or CLI command that passed the value renames it to what the user typed with
:func:`named_as` (``prune.ratios``, ``--ratio``; ``data.reds``, ``--reds``).
"""
from __future__ import annotations

import contextlib
import functools
import re
import sys
from typing import Any, Callable, Iterator


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


class NamedValueError(UserError):
    """A library function got a bad value for one of its arguments.

    Args:
        name: the argument's name in the library (``ratio``); :func:`named_as` replaces it.
        value: the value it got.
        problem: what is wrong and the fix, read after ``name=value``; ``{name}`` in it stands
            for the argument's name, so a fix such as "use {name} <= 0.8" is renamed too.
    """

    def __init__(self, name: str, value: Any, problem: str) -> None:
        super().__init__(name, value, problem)
        self.name, self.value, self.problem = name, value, problem

    def __str__(self) -> str:
        return f'{self.name}={self.value!r} {self.problem.replace("{name}", self.name)}'


class ArgumentError(NamedValueError, ParamsError):
    """An invalid argument value (a ratio outside (0, 1), an unknown criterion)."""


class RootError(NamedValueError, DataError):
    """A data-set root argument that is unset or not a folder (the set is not available)."""


@contextlib.contextmanager
def named_as(**names: str) -> Iterator[None]:
    """Inside the block, an :class:`ArgumentError` or :class:`RootError` about an argument in
    ``names`` is re-raised under the name the user gave the value:
    ``with named_as(ratio='--ratio'): pick_pruned(...)``."""
    try:
        yield
    except NamedValueError as err:
        err.name = names.get(err.name, err.name)
        raise


def one_line(err: UserError) -> str:
    """``err``'s message. A data-loader worker's error reaches the main process re-raised with the
    worker's traceback as its message: its last line is the message."""
    lines = str(err).strip().splitlines()
    return re.sub(r'^[\w.]*(Error|Exception): ', '', lines[-1]) if len(lines) > 1 else str(err)


def exit_on_user_error(main: Callable[[], None]) -> Callable[[], None]:
    """Run ``main``; a :class:`UserError` becomes ``error: <message>`` on stderr and exit 2."""
    @functools.wraps(main)
    def run() -> None:
        try:
            main()
        except UserError as err:
            print(f'error: {one_line(err)}', file=sys.stderr)
            raise SystemExit(2) from None
    return run
