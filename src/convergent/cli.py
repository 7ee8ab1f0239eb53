"""``convergent <step>``: the command-line steps the Snakemake rules call, one call per job
(the steps live in :mod:`convergent.steps`, one module per .smk file).

Bad input ends in one line naming the file or key and the fix (exit status 2), never a
traceback.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import sys
from collections.abc import Callable

from convergent import __version__
from convergent.io import InputError


def parser() -> argparse.ArgumentParser:
    """The parser of every step, each registered by its module in :mod:`convergent.steps`."""
    from convergent import new_study, steps

    p = argparse.ArgumentParser(prog="convergent", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="step", required=True)

    def step(name: str, func: Callable, help: str) -> argparse.ArgumentParser:
        s = sub.add_parser(name, help=help, description=help)
        s.set_defaults(func=func)
        return s

    for module in steps.modules():
        module.register(step)
    new_study.register(step)  # not a rule's step: writes a new study's config
    return p


def main(argv: list[str] | None = None) -> None:
    """Run one step; bad input or a failed file operation ends in one line on stderr naming the
    file or key and the fix, with exit status 2 (never a traceback)."""
    pin_threads()  # first: building the parser loads numpy
    retain_freed_memory()
    args = parser().parse_args(argv)
    _register_architectures(args)
    try:
        args.func(args)
    except InputError as err:
        message = _one_line(err)
    except OSError as err:
        message = _os_error_message(err)
    else:
        return
    print(f"convergent {args.step}: error: {message}", file=sys.stderr)
    sys.exit(2)


#: the sizes of the thread pools of OpenMP (torch), MKL, OpenBLAS (numpy) and their kin
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "GOTO_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def pin_threads() -> None:
    """Every step computes on one thread (training on ``training.threads``, which
    :func:`convergent.training.fit` sets from the model's spec), whatever threads Snakemake or
    the machine offer: a parallel reduction's rounding depends on its thread count, and the
    numbers must not.  Threads that wait for work sleep instead of spinning, so that a busy
    machine slows a job by its share of the cores, not by spinning barriers.

    Set here, before numpy or torch loads: the libraries read these variables when they load
    (a process that loaded them earlier, such as a test calling :func:`main`, keeps its
    pools)."""
    os.environ.update(dict.fromkeys(THREAD_VARIABLES, "1"))
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


#: glibc's mallopt parameters: M_TRIM_THRESHOLD, M_MMAP_THRESHOLD
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def retain_freed_memory() -> bool:
    """Memory a step frees stays with its process for the next allocation (glibc's malloc;
    elsewhere a no-op, False).  By default glibc maps each large block afresh and hands freed
    heap back to the system, so every training step faults its activations' pages in again:
    on a 2-core virtual machine that cost a sixth of training's time (benchmarks/training.py),
    the weights to the bit the same.  The peak memory grows by a few per cent (a training job
    1.00 -> 1.03 GB): freed memory goes back to the system when the process ends."""
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc (macOS, musl)
        return False
    # blocks up to 32 MiB (glibc's largest threshold) come from the heap, which keeps 1 GiB free
    return (mallopt(_M_MMAP_THRESHOLD, 32 << 20) == 1
            and mallopt(_M_TRIM_THRESHOLD, 1 << 30) == 1)


def _register_architectures(args: argparse.Namespace) -> None:
    """A step's spec carries the config-defined architectures it needs (``architectures``:
    {name: definition}, see common.smk): registered before the step runs, every step resolves
    their names like the built-in ones.  A figure parses its own arguments later (``convergent
    figure NAME --spec ...``): its spec is read here from them."""
    spec = getattr(args, "spec", None)
    rest = getattr(args, "arguments", None) or []
    if spec is None and "--spec" in rest[:-1]:
        try:
            spec = json.loads(rest[rest.index("--spec") + 1])
        except ValueError:
            return  # the figure's own parser reports it
    if isinstance(spec, dict) and spec.get("architectures"):
        from convergent import models

        models.register(spec["architectures"])


def _one_line(err: Exception) -> str:
    """The message of ``err`` on one line.  A DataLoader re-raises a worker's error with the
    worker's traceback as its message, whose last line is ``<module>.<Class>: <message>``."""
    lines = str(err).strip().splitlines() or [""]
    cls = type(err)
    name = cls.__qualname__
    if cls.__module__ != "builtins":  # the traceback module's spelling of the class
        name = f"{cls.__module__}.{name}"
    return lines[-1].removeprefix(f"{name}: ")


def _os_error_message(err: OSError) -> str:
    """``<file>: <strerror>; <fix>`` for an OSError of a step (read-only or full disk...)."""
    import errno

    folder = os.path.dirname(os.path.abspath(str(err.filename))) if err.filename else "its folder"
    permissions = f"check that you may read and write {folder}, then rerun"
    in_the_way = "a file stands where a folder is needed; move it away, then rerun"
    fixes = {
        errno.EACCES: permissions,
        errno.EPERM: permissions,
        errno.EROFS: "write the results to a writable file system, then rerun",
        errno.ENOSPC: "free disk space, then rerun",
        errno.EDQUOT: "free space within your disk quota, then rerun",
        errno.EEXIST: in_the_way,
        errno.ENOTDIR: in_the_way,
        errno.ENOENT: "check that the path exists (rerun snakemake to rebuild missing inputs)",
    }
    fix = fixes.get(err.errno, "check the file and the disk, then rerun")
    if err.errno in (errno.ENOSPC, errno.EDQUOT) and err.filename:
        fix = f"{file_system(str(err.filename))}; {fix}"
    where = f"{err.filename}: " if err.filename else ""
    return f"{where}{err.strerror or _one_line(err)}; {fix}"


def file_system(path: str) -> str:
    """The file system holding ``path`` (its nearest existing folder) that is full, in words:
    where it is mounted and its size."""
    folder = os.path.abspath(path)
    while not os.path.isdir(folder):
        folder = os.path.dirname(folder)
    mount = folder
    while not os.path.ismount(mount):
        mount = os.path.dirname(mount)
    size = os.statvfs(folder).f_blocks * os.statvfs(folder).f_frsize
    return f"the file system mounted at {mount} ({size / 2**30:.3g} GiB) is full"


if __name__ == "__main__":
    main()
