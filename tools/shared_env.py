"""Create or update the one virtualenv that every tox env runs from.

tox 4 recreates an env directory whenever another env name uses it, so sharing `env_dir` would
reinstall torch (~5 GB) for `py`, `peers`, `demo` and `thorough` in turn. Instead each tox env is
tiny and calls this script first: it builds `.tox/.venv-shared` with `pip install -e .[extras]`
once, and again only when pyproject.toml or this script changes (a stamp file records their hash).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".tox" / ".venv-shared"
EXTRAS = "test,peers,metrics,report"


def _stamp() -> str:
    digest = hashlib.sha256()
    for path in (ROOT / "pyproject.toml", Path(__file__)):
        digest.update(path.read_bytes())
    digest.update(EXTRAS.encode())
    return digest.hexdigest()


def main() -> int:
    stamp_file = VENV / ".stamp"
    want = _stamp()
    python = VENV / "bin" / "python"
    if stamp_file.exists() and stamp_file.read_text() == want and python.exists():
        return 0
    print(f"shared env: installing .[{EXTRAS}] into {VENV} (torch is large: once)",
          file=sys.stderr, flush=True)
    if not python.exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    cmd = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q",
           "-e", f"{ROOT}[{EXTRAS}]"]
    subprocess.run(cmd, check=True, cwd=ROOT, env=env)
    stamp_file.write_text(want)
    return 0


if __name__ == "__main__":
    sys.exit(main())
