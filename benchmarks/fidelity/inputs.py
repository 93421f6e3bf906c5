"""The inputs every side of the comparison reads: one CLIP file, one dataset, one saved sequence of batches.

Runs in the comparison's own process (this repository's environment); the sides only read the files.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass

import torch
from clip.model import CLIP, convert_weights
from PIL import Image
from torchvision import transforms as T

from mopd.clip.backbones import ClipArchitecture
from mopd.data.synthetic import SPLIT_FILE, generate_synthetic_dataset

# CLIP's normalisation, as every published config sets it
PIXEL_MEAN = (0.48145466, 0.4578275, 0.40821073)
PIXEL_STD = (0.26862954, 0.26130258, 0.27577711)
BACKBONE_NAME = "ViT-B/16-fidelity"  # the name our side registers the architecture under


@dataclass(frozen=True)
class Inputs:
    """Where the shared inputs are, and what defines them."""

    clip_file: str  # a plain CLIP state_dict (fp16 as OpenAI releases it)
    data_root: str  # DATASET.ROOT: holds synthetic/
    batches_file: str  # {"train": [[batch, ...] per epoch], "test_base": [...], "test_new": [...], ...}
    architecture: dict  # ClipArchitecture fields
    image_size: int
    epochs: int


def fidelity_architecture(layers: int, image_size: int) -> ClipArchitecture:
    """ViT-B/16 widths (MaPLe's code fixes text 512, vision 768), `layers` per tower, a small input."""
    return ClipArchitecture(embed_dim=512, image_resolution=image_size, vision_layers=layers, vision_width=768,
                            vision_patch_size=16, context_length=77, vocab_size=49408, transformer_width=512,
                            transformer_heads=8, transformer_layers=layers)


def write_clip(path: str, arch: ClipArchitecture, seed: int) -> None:
    """CLIP's own random initialisation under `seed`, cast as OpenAI's released files are, saved as a state_dict."""
    torch.manual_seed(seed)
    model = CLIP(**arch.as_kwargs())
    convert_weights(model)
    torch.save(model.state_dict(), path)


def _split(data_dir: str) -> dict[str, list]:
    with open(os.path.join(data_dir, SPLIT_FILE), encoding="utf-8") as f:
        return json.load(f)


def _images(records: list, image_dir: str, labels: list[int], transform) -> list[tuple[torch.Tensor, int]]:
    """(image tensor, label in the subset's numbering) of the records whose label is in `labels`."""
    relabel = {label: i for i, label in enumerate(labels)}
    items = []
    for rel_path, label, _ in records:
        if label in relabel:
            with Image.open(os.path.join(image_dir, rel_path)) as image:
                items.append((transform(image.convert("RGB")), relabel[label]))
    return items


def _batch(items: list[tuple[torch.Tensor, int]]) -> dict[str, torch.Tensor]:
    return {"img": torch.stack([image for image, _ in items]), "label": torch.tensor([label for _, label in items])}


def write_batches(path: str, data_dir: str, image_size: int, epochs: int, batch_size: int, seed: int) -> None:
    """Train batches for every epoch (shuffled, augmented as the published configs do) and the test batches.

    Base classes are the first ceil(C/2) labels, new the rest, each numbered from 0 (CoOp's base-to-new).
    """
    split = _split(data_dir)
    image_dir = os.path.join(data_dir, "images")
    labels = sorted({label for _, label, _ in split["train"]})
    names = {label: name for _, label, name in split["train"]}
    base, new = labels[: math.ceil(len(labels) / 2)], labels[math.ceil(len(labels) / 2):]
    normalize = [T.ToTensor(), T.Normalize(PIXEL_MEAN, PIXEL_STD)]
    bicubic = T.InterpolationMode.BICUBIC
    train_transform = T.Compose([T.RandomResizedCrop(image_size, scale=(0.08, 1.0), interpolation=bicubic),
                                 T.RandomHorizontalFlip(), *normalize])
    test_transform = T.Compose([T.Resize(image_size, interpolation=bicubic), T.CenterCrop(image_size), *normalize])
    torch.manual_seed(seed)
    train = []
    for _ in range(epochs):
        items = _images(split["train"], image_dir, base, train_transform)
        order = torch.randperm(len(items)).tolist()
        train.append([_batch([items[i] for i in order[start:start + batch_size]])
                      for start in range(0, len(order) - batch_size + 1, batch_size)])  # drop_last, as Dassl
    torch.save({
        "train": train,
        "test_base": [_batch(_images(split["test"], image_dir, base, test_transform))],
        "test_new": [_batch(_images(split["test"], image_dir, new, test_transform))],
        "classnames_base": [names[label] for label in base],
        "classnames_new": [names[label] for label in new],
    }, path)


def prepare_inputs(work: str, *, layers: int, image_size: int, classes: int, train_per_class: int,
                   test_per_class: int, epochs: int, batch_size: int, seed: int) -> Inputs:
    """Write (or reuse) the CLIP file, the dataset and the batches under `work`."""
    os.makedirs(work, exist_ok=True)
    arch = fidelity_architecture(layers, image_size)
    inputs = Inputs(
        clip_file=os.path.join(work, f"clip_{layers}layers_{image_size}px_seed{seed}.pt"),
        data_root=os.path.join(work, "data"),
        batches_file=os.path.join(work, f"batches_{epochs}ep_bs{batch_size}_seed{seed}.pt"),
        architecture=asdict(arch), image_size=image_size, epochs=epochs,
    )
    if not os.path.isfile(inputs.clip_file):
        write_clip(inputs.clip_file, arch, seed)
    data_dir = generate_synthetic_dataset(inputs.data_root, num_classes=classes, train_per_class=train_per_class,
                                          val_per_class=1, test_per_class=test_per_class, image_size=image_size,
                                          seed=seed)
    write_batches(inputs.batches_file, data_dir, image_size, epochs, batch_size, seed)
    return inputs
