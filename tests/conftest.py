"""Test-wide setup: the repository root on sys.path (trainers/ and datasets/ are used from the checkout)."""
import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import torch  # noqa: E402

# The suite runs on 2 CPU cores; one intra-op thread avoids oversubscription with tiny tensors.
torch.set_num_threads(1)
