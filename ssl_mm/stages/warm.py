"""A warm stage server: ``scripts/run.sh`` starts one beside ``dvc repro``, and each stage DVC
runs (``python -m ssl_mm.stages.<name> ...``) is handed to it and runs in a fork of it.

Why: before its first line of work a stage imports torch, mmengine, MMagic (which pulls in
diffusers, transformers and scikit-learn), MLflow and pandas: about 5-6 s on a 2-core AVX-512
machine (measured), and the default pipeline runs dozens of stages. The server imports those once; a
fork of it imports only ssl_mm (~0.05 s).

A stage in the server gets what ``python -m`` would give it: the client's arguments, working
directory, environment and stdin/stdout/stderr (the descriptors themselves, passed over the
socket), ssl_mm imported afresh from the client's path (only third-party packages are
pre-imported, so an edit to ssl_mm between stages is what runs), reseeded ``random`` and
NumPy generators. The client (the process DVC started) forwards SIGINT, SIGTERM and SIGHUP to
the stage's process group, and ends with the stage's exit status, or by the signal that ended
it; if the client dies (SIGKILL), the stage is killed. Without a server (a plain ``dvc repro``,
the tests, another interpreter) a stage runs in its own process as before.

This module is imported by ``ssl_mm.stages`` before any stage: it stays light (standard library)."""
from __future__ import annotations

import importlib
import json
import os
import random
import runpy
import selectors
import signal
import socket
import sys
import time
import traceback

SERVER_ENV = 'SSL_MM_STAGE_SERVER'  # the server's socket path, set by scripts/run.sh for DVC
PREIMPORTED = ('torch', 'mmengine.runner', 'mmagic.models', 'mmagic.evaluation', 'mlflow', 'pandas', 'matplotlib.pyplot')
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
OUR_PACKAGE = __name__.split('.')[0]


def hand_over_if_served() -> None:
    """Under ``python -m ssl_mm.stages.<name>`` with a server named in ``SSL_MM_STAGE_SERVER``:
    run the stage there and exit as it did. Returns (the stage then runs here) when there is no
    server, it cannot be reached, or it runs another Python environment."""
    path = os.environ.get(SERVER_ENV)
    if not path or sys.argv[:1] != ['-m']:  # '-m' only while `python -m` imports the parent packages
        return
    at = sys.orig_argv.index('-m') + 1
    module = sys.orig_argv[at]
    if not module.startswith(f'{__package__}.') or module == __name__:
        return
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        client.connect(path)
    except OSError:
        return
    request = dict(module=module, argv=sys.orig_argv[at + 1:], cwd=os.getcwd(), path0=sys.path[0],
                   env=dict(os.environ), environment=sys.prefix)
    socket.send_fds(client, [json.dumps(request).encode() + b'\n'], [0, 1, 2])
    for sig in FORWARDED:
        signal.signal(sig, lambda sig, _frame: client.sendall(b'%d\n' % sig))
    reply = client.makefile('rb').readline()
    for sig in FORWARDED:
        signal.signal(sig, signal.SIG_DFL if sig != signal.SIGINT else signal.default_int_handler)
    if not reply:
        raise SystemExit(f'{module}: the stage server at {path} ended without an exit status')
    answer = json.loads(reply)
    if 'refused' in answer:
        print(f'[ssl-mm] stage server: {answer["refused"]}; running {module} here', file=sys.stderr)
        return
    code = answer['exit']
    if code < 0:  # ended by a signal: end the same way, as DVC would have seen it
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    raise SystemExit(code)


def serve(path: str) -> None:
    """Listen on ``path``, import PREIMPORTED, then fork a supervisor per stage handed over; each
    stage's start (pid) and end go to ``<path>.log``. Ends when its parent (scripts/run.sh) is gone."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)  # first, so that a stage started meanwhile waits here instead of running cold
    listener.listen(64)
    parent, started = os.getppid(), time.perf_counter()
    for name in PREIMPORTED:
        importlib.import_module(name)
    print(f'[ssl-mm] stage server: torch, MMagic, MLflow imported in {time.perf_counter() - started:.1f} s; '
          'stages run as forks of it', file=sys.stderr, flush=True)
    sys.stdout.flush()
    listener.settimeout(2)
    while os.getppid() == parent:
        _reap_supervisors()
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        if os.fork() == 0:
            listener.close()
            conn.settimeout(None)
            try:
                _supervise(conn)
            finally:
                os._exit(0)
        conn.close()
    os.unlink(path)


def _reap_supervisors() -> None:
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass


def _supervise(conn: socket.socket) -> None:
    """One stage: read the request and the client's descriptors, fork the stage, forward the
    client's signals to it, and send back how it ended."""
    data, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
    while b'\n' not in data:
        more = conn.recv(1 << 20)
        if not more:
            return
        data += more
    line, _, early_signals = data.partition(b'\n')  # signals the client got before the stage started
    request = json.loads(line)
    if request['environment'] != sys.prefix:  # another venv: other packages than the ones imported here
        conn.sendall(json.dumps({'refused': f'it runs the Python of {sys.prefix}, this stage that of '
                                            f'{request["environment"]}'}).encode() + b'\n')
        return
    command = ' '.join(['python -m', request['module'], *request['argv']])
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(ready_r)
        _run_stage(request, fds, conn, ready_w)
    for fd in (*fds, ready_w):
        os.close(fd)
    os.read(ready_r, 1)  # the stage has its own group and signal handlers: what is forwarded now counts
    os.close(ready_r)
    _log(conn, f'{command} started (pid {pid})')
    for sig in early_signals.split():
        _signal_stage(pid, int(sig))
    stage = os.pidfd_open(pid)
    events = selectors.DefaultSelector()
    events.register(stage, selectors.EVENT_READ)
    events.register(conn, selectors.EVENT_READ)
    while True:
        for key, _ in events.select():
            if key.fileobj == stage:
                status = os.waitpid(pid, 0)[1]
                code = os.waitstatus_to_exitcode(status)
                _log(conn, f'{command} ended with {code}')
                conn.sendall(json.dumps({'exit': code}).encode() + b'\n')
                return
            message = conn.recv(256)
            if not message:  # the client is gone (killed): so is its stage
                events.unregister(conn)
                _signal_stage(pid, signal.SIGKILL)
            for line in message.split():
                _signal_stage(pid, int(line))


def _log(conn: socket.socket, line: str) -> None:
    with open(f'{conn.getsockname()}.log', 'a') as log:
        log.write(f'{line}\n')


def _signal_stage(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def _run_stage(request: dict, fds: list[int], conn: socket.socket, ready: int) -> None:
    """In the fork: become the client's ``python -m <module> <argv>``, and exit as it ends."""
    os.setpgid(0, 0)  # its own group: the client's signals reach it (and its workers) once, via killpg
    signal.signal(signal.SIGINT, signal.default_int_handler)  # the server ignores it, as run.sh's job
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
        signal.signal(sig, signal.SIG_DFL)
    code = 1
    try:
        os.write(ready, b'.')
        os.close(ready)
        conn.close()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request['cwd'])
        os.environ.clear()
        os.environ.update(request['env'])
        os.environ.pop(SERVER_ENV)  # its own subprocesses (torchrun) start cold
        sys.path[0] = request['path0']
        for name in [m for m in sys.modules if m.split('.')[0] == OUR_PACKAGE]:
            del sys.modules[name]  # ssl_mm from the client's checkout, as it is now
        random.seed()
        sys.modules['numpy'].random.seed()  # what a new interpreter does (NumPy came with torch)
        sys.argv = [request['module'], *request['argv']]
        runpy.run_module(request['module'], run_name='__main__', alter_sys=True)
        code = 0
    except SystemExit as exit_:  # as the interpreter reads it: None is 0, a message is printed and 1
        if exit_.code is None or isinstance(exit_.code, int):
            code = exit_.code or 0
        else:
            print(exit_.code, file=sys.stderr)
    except KeyboardInterrupt:
        traceback.print_exc()
        code = -signal.SIGINT
    except BaseException:  # what the interpreter would print before exiting with 1
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        if code == -signal.SIGINT:  # as CPython ends on an uncaught KeyboardInterrupt
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGINT)
        os._exit(code)
