"""A GPU of its own for each GPU job of one machine: a slot is an flock on a file of this user's,
held for the whole job and released by the kernel when it ends, even killed."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from convergent.io import InputError

#: where the GPU jobs of one machine take their slots (one lock file per device); default: a
#: folder of this user's in the temporary directory
GPU_LOCKS = "CONVERGENT_GPU_LOCKS"
_held: list = []  # this job's slot lock: the kernel releases it when the job ends, even killed


def visible_gpus() -> list[str]:
    """The GPUs a job may use: CUDA_VISIBLE_DEVICES if set (Slurm sets it), else nvidia-smi's."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [d.strip() for d in visible.split(",") if d.strip()]
    if shutil.which("nvidia-smi") is None:
        return []
    out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True).stdout
    return [str(k) for k, _ in enumerate(x for x in out.splitlines() if x.startswith("GPU "))]


def claim_gpu() -> str | None:
    """Give this job a GPU of its own: the first visible device whose slot no other running
    job holds becomes its only visible device (call before CUDA starts).  A slot is an flock
    on a file, released when the job ends, even by ``kill -9``.  With every slot taken (more
    concurrent GPU jobs than GPUs) it waits for one.  None without GPUs; a single visible GPU
    is used as it is."""
    devices = visible_gpus()
    if len(devices) <= 1:
        return devices[0] if devices else None
    default = Path(tempfile.gettempdir()) / f"convergent-gpus-{os.getuid()}"
    folder = Path(os.environ.get(GPU_LOCKS) or default)
    folder_fd = _slot_folder(folder)
    while True:
        for device in devices:
            lock = _slot_file(folder, folder_fd, f"gpu-{device}.lock")  # held for the whole job
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(lock)
                continue
            _held.append(lock)
            os.environ["CUDA_VISIBLE_DEVICES"] = device
            return device
        time.sleep(1.0)


#: the fix of a slot folder or file that is not safely this user's
_SLOT_FIX = f"remove it, or set {GPU_LOCKS} to a folder of yours that only you may write to"


def _slot_folder(folder: Path) -> int:
    """The slots' folder, opened (a descriptor): created private to this user if absent, and
    refused unless it is a real folder of this user's that no one else may write to (in a
    shared temporary directory another user could have made it first, to plant links)."""
    try:
        folder.mkdir(mode=0o700, parents=True)
    except FileExistsError:
        pass
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as err:  # a link (ELOOP) or a file (ENOTDIR) where the folder should be
        raise InputError(f"{folder}: not a GPU slot folder ({err.strerror}); {_SLOT_FIX}") from None
    info = os.fstat(fd)
    if info.st_uid != os.getuid() or info.st_mode & 0o022:
        os.close(fd)
        raise InputError(
            f"{folder}: the GPU slot folder is owned by uid {info.st_uid} or writable by others "
            f"(mode {info.st_mode & 0o777:o}); {_SLOT_FIX}"
        )
    return fd


def _slot_file(folder: Path, folder_fd: int, name: str) -> int:
    """A slot's lock file, opened for locking (a descriptor): created if absent, never
    truncated, never through a symbolic link."""
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        return os.open(name, flags, 0o600, dir_fd=folder_fd)
    except OSError as err:  # ELOOP: a link planted in its place
        raise InputError(
            f"{folder / name}: not a GPU slot file ({err.strerror}); {_SLOT_FIX}"
        ) from None
