"""Dataset readers; importing this package registers every dataset in DATASET_REGISTRY."""
from . import synthetic  # noqa: F401
