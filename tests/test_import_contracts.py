"""The layers of `mopd` and the glue rules (`.importlinter`) hold, and a wrong import breaks them by name."""
import os
import shutil
import subprocess
import sys

import pytest

from e2e import REPO_ROOT

LINT = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"]


def _lint(cwd: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    return subprocess.run(LINT + ["--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_every_contract_is_kept():
    result = _lint(REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.fixture
def repo_copy(tmp_path):
    for name in ("mopd", "trainers", "datasets"):
        shutil.copytree(os.path.join(REPO_ROOT, name), tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(os.path.join(REPO_ROOT, ".importlinter"), tmp_path)
    return tmp_path


def _add_import(path, statement: str) -> None:
    text = path.read_text()
    marker = "from __future__ import annotations\n"
    path.write_text(text.replace(marker, marker + statement + "\n", 1))


@pytest.mark.parametrize("module, statement, message", [
    ("mopd/clip/loading.py", "from mopd.data.prepare import ChecksumError",
     "mopd.clip is not allowed to import mopd.data"),
    ("mopd/runs/record.py", "from mopd.cli.errors import exit_on_user_error",
     "mopd.runs is not allowed to import mopd.cli"),
    ("mopd/feature_cache/store.py", "import datasets", "mopd is not allowed to import datasets"),
    ("mopd/prompts/pools.py", "import dassl", "mopd is not allowed to import dassl"),
    ("mopd/study/jobs.py", "from mopd.prompts.templates import DEFAULT_TEMPLATE",
     "mopd.study is not allowed to import mopd.prompts"),
])
def test_a_wrong_import_breaks_a_contract_and_is_named(repo_copy, module, statement, message):
    _add_import(repo_copy / module, statement)
    result = _lint(str(repo_copy))
    assert result.returncode != 0
    assert message in result.stdout, result.stdout
    importer = module[:-3].replace("/", ".")
    assert importer in result.stdout
