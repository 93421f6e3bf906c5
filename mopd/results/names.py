"""Dataset and method names of the evaluation protocols, their display names and report order."""
from __future__ import annotations

# The 11 base-to-new / few-shot datasets, in the order papers report them (config names).
BENCHMARK_DATASETS: tuple[str, ...] = (
    "imagenet",
    "caltech101",
    "oxford_pets",
    "stanford_cars",
    "oxford_flowers",
    "food101",
    "fgvc_aircraft",
    "sun397",
    "dtd",
    "eurosat",
    "ucf101",
)
SOURCE_DATASET = "imagenet"  # cross-dataset and domain-generalisation models are trained on it
TRANSFER_TARGETS: tuple[str, ...] = tuple(d for d in BENCHMARK_DATASETS if d != SOURCE_DATASET)
DG_VARIANTS: tuple[str, ...] = ("imagenetv2", "imagenet_sketch", "imagenet_a", "imagenet_r")
METHOD_ORDER: tuple[str, ...] = (
    "ZeroshotCLIP", "LinearProbeCLIP", "CoOp", "CoCoOp", "ProGrad", "KgCoOp", "IVLP", "MaPLe", "PromptSRC", "MMRL",
    "MMRLpp", "MoPD",
)

_DISPLAY_NAMES = {
    "imagenet": "ImageNet",
    "caltech101": "Caltech101",
    "oxford_pets": "OxfordPets",
    "stanford_cars": "StanfordCars",
    "oxford_flowers": "Flowers102",
    "food101": "Food101",
    "fgvc_aircraft": "FGVCAircraft",
    "sun397": "SUN397",
    "dtd": "DTD",
    "eurosat": "EuroSAT",
    "ucf101": "UCF101",
    "imagenetv2": "ImageNetV2",
    "imagenet_sketch": "ImageNet-Sketch",
    "imagenet_a": "ImageNet-A",
    "imagenet_r": "ImageNet-R",
}
_DATASET_ORDER = BENCHMARK_DATASETS + DG_VARIANTS


def display_name(dataset: str) -> str:
    """The name papers print for a dataset config name (unknown names are returned unchanged)."""
    return _DISPLAY_NAMES.get(dataset, dataset)


def dataset_sort_key(dataset: str) -> tuple[int, str]:
    """Sort key: the papers' dataset order first, then any other dataset alphabetically."""
    if dataset in _DATASET_ORDER:
        return (_DATASET_ORDER.index(dataset), "")
    return (len(_DATASET_ORDER), dataset)


def method_sort_key(method: str) -> tuple[int, str]:
    """Sort key: zero-shot CLIP, the baselines in the order they were published, MoPD, then any other trainer."""
    if method in METHOD_ORDER:
        return (METHOD_ORDER.index(method), "")
    return (len(METHOD_ORDER), method)
