"""Files: atomic writes (umask kept), HDF5 helpers, the activation dump and the layout of every
result file (:mod:`convergent.io.layouts`, the only place group names are spelled)."""

from convergent.io.files import InputError, atomic_path, sha256, write_json

__all__ = ["InputError", "atomic_path", "sha256", "write_json"]
