"""Run docs/api.md's examples (doctest): from tests/test_api.py, and by CI against the installed
wheel (``python tests/api_examples.py``: runs them in a temporary folder, exit 1 on a failure)."""

from __future__ import annotations

import doctest
import os
import sys
import tempfile
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"


def run_examples(path: Path = DOC) -> doctest.TestResults:
    """Run every ``>>>`` example of ``path`` in one namespace, in the current folder."""
    return doctest.testfile(
        str(path), module_relative=False, optionflags=doctest.ELLIPSIS, verbose=False
    )


def main() -> None:
    path = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else DOC
    import convergent

    print(f"api examples: {path} against convergent {convergent.__version__} "
          f"({os.path.dirname(convergent.__file__)})")
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)
        result = run_examples(path)
    print(f"api examples: {result.attempted - result.failed} passed, {result.failed} failed")
    sys.exit(1 if result.failed or not result.attempted else 0)


if __name__ == "__main__":
    main()
