"""Test-wide setup: the repository root on sys.path (trainers/ and datasets/ are used from the checkout) and shared fixtures."""
import os
import sys

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import torch  # noqa: E402

# The suite runs on 2 CPU cores; one intra-op thread avoids oversubscription with tiny tensors.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def data_root(tmp_path_factory) -> str:
    """A small synthetic dataset (6 classes, 8 train / 2 val / 4 test images each) for end-to-end runs.

    Shared by the whole session: a test that changes the data works on a copy.
    """
    from mopd.data.synthetic import generate_synthetic_dataset

    root = tmp_path_factory.mktemp("data")
    generate_synthetic_dataset(str(root), num_classes=6, train_per_class=8, val_per_class=2, test_per_class=4)
    return str(root)


@pytest.fixture(scope="session", autouse=True)
def output_root(tmp_path_factory) -> str:
    """$OUTPUT for the whole session: evaluations keep their feature cache there, not in the checkout's output/."""
    root = str(tmp_path_factory.mktemp("output"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OUTPUT", root)
        yield root
