"""Contrastive pre-training of the tiny CLIP on the synthetic dataset, so that demos start from a CLIP that knows it.

A random tiny CLIP classifies at chance, which makes every prompt-learning accuracy meaningless.
Like OpenAI's CLIP before prompt learning, this one is first trained on image-caption pairs: the
TRAIN images of every class of the synthetic dataset (base and new), each paired with a caption
from a few templates, under CLIP's symmetric InfoNCE loss and its learnt logit scale.

Run `python -m mopd.demo.pretrain_tiny --data-root DIR --output FILE` (DIR as given to
`python -m mopd.data.synthetic --root DIR`), then train with `MODEL.BACKBONE.NAME tiny
MODEL.BACKBONE.PATH FILE`. FILE.json records how FILE was made; a re-run with the same settings
on the same data keeps FILE.
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import json
import logging
import math
import os
import time
from dataclasses import asdict, dataclass, replace
from typing import Sequence

import clip
import torch
import torch.nn.functional as F
import torchvision.transforms as T
import torchvision.transforms.functional as TF
from clip.model import CLIP, convert_weights
from PIL import Image
from torch import Tensor

from mopd.files.atomic import atomic_path
from mopd.backend import Datum
from mopd.clip.backbones import TINY
from mopd.clip.loading import load_clip
from mopd.clip.text_encoder import TextEncoder
from mopd.files.io import file_digest, read_json, write_json_atomic
from mopd.data.splits import read_split
from mopd.data.synthetic import DATASET_FOLDER, IMAGE_FOLDER, SPLIT_FILE
from mopd.prompts.templates import DEFAULT_TEMPLATE

logger = logging.getLogger(__name__)

# Captions of the pre-training pairs; "a photo of a {}." is also the zero-shot and CTX_INIT prompt.
CAPTION_TEMPLATES: tuple[str, ...] = (
    "a photo of a {}.",
    "a picture of a {}.",
    "an image of a {}.",
    "a {}.",
    "a photo of the {}.",
    "a close-up photo of a {}.",
    "a photo, classified as {}.",
    "a picture, labeled as {}.",
)
# OpenAI's CLIP input normalisation (the INPUT.PIXEL_MEAN/STD of every CLIP config).
PIXEL_MEAN = (0.48145466, 0.4578275, 0.40821073)
PIXEL_STD = (0.26862954, 0.26130258, 0.27577711)
MAX_LOGIT_SCALE = 100.0  # CLIP clips exp(logit_scale) here during training
SIDECAR_SUFFIX = ".json"


@dataclass(frozen=True)
class PretrainSettings:
    """Hyper-parameters of one pre-training run; FILE.json stores them to recognise a finished run."""

    # Optimiser steps. On the default synthetic dataset 50 steps (~7 s on one core) reach ~85%
    # zero-shot accuracy, so prompt learning still has something to show; 100 steps reach ~96%.
    steps: int = 50
    seed: int = 0  # batch order, augmentation and caption choice (the start weights are tiny's seed 0)
    batch_size: int = 64  # image-caption pairs per step (all train images when fewer)
    lr: float = 1e-3  # Adam peak learning rate, after a linear warm-up over the first 10% of steps
    crop_scale: tuple[float, float] = (0.3, 1.0)  # area range of the random resized crop


def clip_contrastive_loss(image_features: Tensor, text_features: Tensor, logit_scale: Tensor, labels: Tensor) -> Tensor:
    """CLIP's symmetric InfoNCE over a batch of (image, caption) pairs; pairs of one class are not negatives.

    Args:
        image_features: (B, D) image embeddings, pair i's image in row i.
        text_features: (B, D) caption embeddings, pair i's caption in row i.
        logit_scale: scalar log of the temperature's inverse (CLIP's `logit_scale`).
        labels: (B,) class of each pair; an image and another pair's caption of the same class
            are left out of both softmaxes rather than counted as a mismatch.

    Returns:
        The mean of the image-to-text and text-to-image cross-entropies.
    """
    image_features = F.normalize(image_features, dim=-1)
    text_features = F.normalize(text_features, dim=-1)
    logits = logit_scale.exp() * image_features @ text_features.t()  # (B, B)
    same_class = labels[:, None] == labels[None, :]
    diagonal = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    logits = logits.masked_fill(same_class & ~diagonal, float("-inf"))
    targets = torch.arange(len(labels), device=labels.device)
    return (F.cross_entropy(logits, targets) + F.cross_entropy(logits.t(), targets)) / 2


def class_names_of(items: Sequence[Datum]) -> list[str]:
    """Class names indexed by label; raises ValueError when labels are not 0..C-1 with one name each."""
    names: dict[int, str] = {}
    for item in items:
        if names.setdefault(item.label, item.classname) != item.classname:
            raise ValueError(
                f"label {item.label} is named both {names[item.label]!r} and {item.classname!r}; "
                "regenerate the dataset with `python -m mopd.data.synthetic --root DIR`"
            )
    if sorted(names) != list(range(len(names))):
        raise ValueError(f"labels {sorted(names)} are not 0..{len(names) - 1}; regenerate the dataset")
    return [names[label] for label in range(len(names))]


def _split_path(data_root: str) -> tuple[str, str]:
    dataset_dir = os.path.join(os.path.abspath(os.path.expanduser(data_root)), DATASET_FOLDER)
    split_path = os.path.join(dataset_dir, SPLIT_FILE)
    if not os.path.isfile(split_path):
        raise FileNotFoundError(
            f"no synthetic dataset under --data-root {data_root}: {split_path} does not exist; "
            f"generate it with `python -m mopd.data.synthetic --root {data_root}`"
        )
    return split_path, os.path.join(dataset_dir, IMAGE_FOLDER)


def _data_fingerprint(split_path: str, items: Sequence[Datum]) -> str:
    """SHA-256 over the split file and the bytes of the images pre-training reads."""
    digest = hashlib.sha256()
    for path in (split_path, *(item.impath for item in items)):
        with open(path, "rb") as f:
            digest.update(f.read())
    return digest.hexdigest()


def _load_images(items: Sequence[Datum]) -> list[Image.Image]:
    images = []
    for item in items:
        with Image.open(item.impath) as image:
            images.append(image.convert("RGB"))
    return images


def _augmented_batch(
    images: Sequence[Image.Image], size: int, crop_scale: tuple[float, float], generator: torch.Generator
) -> Tensor:
    """(B, 3, size, size) random-resized-crop, random-flip, normalised views drawn with `generator`."""
    normalize = T.Normalize(PIXEL_MEAN, PIXEL_STD)
    views = []
    for image in images:
        width, height = image.size
        draws = torch.rand(4, generator=generator).tolist()
        area = width * height * (crop_scale[0] + draws[0] * (crop_scale[1] - crop_scale[0]))
        ratio = math.exp(math.log(3 / 4) + draws[1] * (math.log(4 / 3) - math.log(3 / 4)))
        crop_w = min(width, round(math.sqrt(area * ratio)))
        crop_h = min(height, round(math.sqrt(area / ratio)))
        left = round(draws[2] * (width - crop_w))
        top = round(draws[3] * (height - crop_h))
        view = TF.resized_crop(image, top, left, crop_h, crop_w, [size, size], T.InterpolationMode.BICUBIC)
        if torch.rand(1, generator=generator).item() < 0.5:
            view = TF.hflip(view)
        views.append(normalize(TF.to_tensor(view)))
    return torch.stack(views)


def _test_batch(images: Sequence[Image.Image], size: int) -> Tensor:
    """(N, 3, size, size) views as the trainers' test pipeline makes them: resize, centre crop, normalise."""
    transform = T.Compose(
        [
            T.Resize(size, interpolation=T.InterpolationMode.BICUBIC),
            T.CenterCrop(size),
            T.ToTensor(),
            T.Normalize(PIXEL_MEAN, PIXEL_STD),
        ]
    )
    return torch.stack([transform(image) for image in images])


def _learning_rate(step: int, settings: PretrainSettings) -> float:
    """Linear warm-up over the first 10% of steps, then cosine decay to zero."""
    warmup = max(1, settings.steps // 10)
    if step < warmup:
        return settings.lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, settings.steps - warmup)
    return settings.lr * 0.5 * (1 + math.cos(math.pi * progress))


def _build_optimizers(model: CLIP, settings: PretrainSettings) -> list[torch.optim.Optimizer]:
    """Adam for every parameter, on sparse gradients for the token embedding.

    Captions use a few dozen of the vocabulary's tokens; a dense update of the whole embedding
    table would cost more than the rest of the step.
    """
    embedding = model.token_embedding.weight
    dense = [parameter for parameter in model.parameters() if parameter is not embedding]
    return [torch.optim.SparseAdam([embedding], lr=settings.lr), torch.optim.Adam(dense, lr=settings.lr)]


def pretrain_clip(
    model: CLIP, items: Sequence[Datum], class_names: Sequence[str], settings: PretrainSettings, log_every: int = 20
) -> list[float]:
    """Train fp32 `model` in place on (image, caption) pairs of `items`; returns the loss of every step.

    The global random state is left untouched: all draws come from a generator seeded with
    `settings.seed`, so a run is deterministic for a seed and thread count.
    """
    if model.dtype != torch.float32:
        raise ValueError(f"pre-training needs an fp32 CLIP, got {model.dtype}; pass `model.float()`")
    generator = torch.Generator().manual_seed(settings.seed)
    images = _load_images(items)
    labels = torch.tensor([item.label for item in items])
    captions = [template.format(name) for template in CAPTION_TEMPLATES for name in class_names]
    tokens = clip.tokenize(captions).view(len(CAPTION_TEMPLATES), len(class_names), -1)  # (templates, C, L)
    text_encoder = TextEncoder(model)
    batch_size = min(settings.batch_size, len(items))
    optimizers = _build_optimizers(model, settings)
    losses = []
    model.train()
    model.token_embedding.sparse = True  # gradients of the used rows only, for SparseAdam
    try:
        for step in range(settings.steps):
            index = torch.randperm(len(items), generator=generator)[:batch_size]
            template = torch.randint(len(CAPTION_TEMPLATES), (batch_size,), generator=generator)
            views = _augmented_batch(
                [images[i] for i in index.tolist()], model.visual.input_resolution, settings.crop_scale, generator
            )
            loss = clip_contrastive_loss(
                model.encode_image(views),
                text_encoder.encode_tokens(tokens[template, labels[index]]),
                model.logit_scale,
                labels[index],
            )
            _optimise(model, optimizers, loss, _learning_rate(step, settings))
            losses.append(loss.item())
            if (step + 1) % log_every == 0 or step + 1 == settings.steps:
                logger.info(
                    "pre-training step [%d/%d] loss %.4f logit scale %.1f",
                    step + 1, settings.steps, loss.item(), model.logit_scale.exp().item(),
                )
    finally:
        model.token_embedding.sparse = False
        model.eval()
    return losses


def _optimise(model: CLIP, optimizers: Sequence[torch.optim.Optimizer], loss: Tensor, lr: float) -> None:
    """One update at learning rate `lr`, then CLIP's clipping of the logit scale."""
    for optimizer in optimizers:
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.zero_grad(set_to_none=True)
    loss.backward()
    for optimizer in optimizers:
        optimizer.step()
    with torch.no_grad():
        model.logit_scale.clamp_(0, math.log(MAX_LOGIT_SCALE))


@torch.no_grad()
def zero_shot_accuracy(model: CLIP, items: Sequence[Datum], class_names: Sequence[str]) -> float:
    """Accuracy (%) of `model` on `items` with the prompt "a photo of a {}." over `class_names`."""
    text = TextEncoder(model).encode_tokens(clip.tokenize([DEFAULT_TEMPLATE.format(n) for n in class_names]))
    images = _test_batch(_load_images(items), model.visual.input_resolution)
    image_features = model.encode_image(images.type(model.dtype))
    similarity = F.normalize(image_features.float(), dim=-1) @ F.normalize(text.float(), dim=-1).t()  # (N, C)
    predictions = similarity.argmax(dim=-1)
    labels = torch.tensor([item.label for item in items])
    return 100.0 * (predictions == labels).float().mean().item()


def save_clip_weights(model: CLIP, path: str) -> None:
    """Save `model`'s weights to `path` atomically as a state_dict, fp16 where `build_model` converts them."""
    converted = copy.deepcopy(model)
    convert_weights(converted)
    with atomic_path(path) as tmp_path:
        torch.save(converted.state_dict(), tmp_path)


@dataclass(frozen=True)
class PretrainResult:
    """Outcome of `pretrain_tiny`: whether it trained (False: FILE was already made so) and FILE's accuracy."""

    trained: bool
    zero_shot_accuracy: float  # % on the TEST split, prompt "a photo of a {}." over all classes
    losses: tuple[float, ...]  # loss of every step; empty when skipped


def sidecar_path(output: str) -> str:
    """Path of the JSON file that records how the weights at `output` were made."""
    return output + SIDECAR_SUFFIX


def pretrain_tiny(data_root: str, output: str, settings: PretrainSettings, log_every: int = 20) -> PretrainResult:
    """Pre-train the tiny CLIP on the synthetic dataset under `data_root` and save it to `output`.

    Skips training when `output` and its sidecar FILE.json show that these settings already
    made it from the same data. The saved file loads with `load_clip("tiny", path=output)`.
    """
    _check_settings(settings)
    split_path, image_dir = _split_path(data_root)
    train, val, test = read_split(split_path, image_dir)
    class_names = class_names_of([*train, *val, *test])
    made_with = {
        "settings": asdict(settings),
        "captions": list(CAPTION_TEMPLATES),
        "data_sha256": _data_fingerprint(split_path, train),
    }
    made_with = json.loads(json.dumps(made_with))  # tuples become lists, as read back from the file
    recorded_accuracy = _recorded_accuracy(output, made_with)
    if recorded_accuracy is not None:
        logger.info(
            "%s was pre-trained with these settings on this data (zero-shot accuracy %.1f%%); skipping",
            output, recorded_accuracy,
        )
        return PretrainResult(trained=False, zero_shot_accuracy=recorded_accuracy, losses=())

    logger.info(
        "Pre-training the tiny CLIP for %d steps on %d images of %d classes (%s)",
        settings.steps, len(train), len(class_names), ", ".join(class_names),
    )
    start = time.perf_counter()
    model = load_clip(TINY).float()
    losses = pretrain_clip(model, train, class_names, settings, log_every)
    save_clip_weights(model, output)
    accuracy = zero_shot_accuracy(load_clip(TINY, path=output).float(), test, class_names)
    record = {
        "made_with": made_with,
        "data_root": os.path.abspath(os.path.expanduser(data_root)),
        "weights_sha256": file_digest(output),
        "zero_shot_accuracy": accuracy,
    }
    write_json_atomic(sidecar_path(output), record)
    logger.info(
        "Saved the pre-trained tiny CLIP to %s (%.1f s); "
        "zero-shot accuracy on the %d test images: %.1f%% (chance %.1f%%)",
        output, time.perf_counter() - start, len(test), accuracy, 100.0 / len(class_names),
    )
    return PretrainResult(trained=True, zero_shot_accuracy=accuracy, losses=tuple(losses))


def _check_settings(settings: PretrainSettings) -> None:
    if settings.steps < 1:
        raise ValueError(f"steps={settings.steps} must be at least 1")
    if settings.seed < 0:
        raise ValueError(f"seed={settings.seed} must be a non-negative integer")
    if settings.batch_size < 2:
        raise ValueError(f"batch_size={settings.batch_size} must be at least 2 (a contrastive batch needs negatives)")


def _recorded_accuracy(output: str, made_with: dict) -> float | None:
    """The zero-shot accuracy FILE.json records when it shows that `made_with` produced `output`, else None."""
    sidecar = sidecar_path(output)
    if not (os.path.isfile(output) and os.path.isfile(sidecar)):
        return None
    try:
        record = read_json(sidecar)
    except ValueError as err:
        logger.warning("Ignoring %s: %s", sidecar, err)
        return None
    if not isinstance(record, dict) or not {"made_with", "weights_sha256", "zero_shot_accuracy"} <= record.keys():
        logger.warning("Ignoring %s: it lacks made_with, weights_sha256 or zero_shot_accuracy", sidecar)
        return None
    if record["made_with"] != made_with:
        logger.info("%s was made with other settings or data; pre-training again", output)
        return None
    if record["weights_sha256"] != file_digest(output):
        logger.info("%s changed since %s was written; pre-training again", output, sidecar)
        return None
    return float(record["zero_shot_accuracy"])


def main(argv: Sequence[str] | None = None) -> None:
    """Command-line entry point: parse arguments, pre-train (or skip) and report the zero-shot accuracy."""
    defaults = PretrainSettings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", required=True, help="root given to `python -m mopd.data.synthetic --root`")
    parser.add_argument("--output", required=True, help="weight file to write (a CLIP state_dict)")
    parser.add_argument("--steps", type=int, default=defaults.steps, help="optimiser steps")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="seed of batches, augmentation and captions")
    # The tiny model's tensors are too small for more threads to pay; on a busy machine they slow it down.
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.threads < 1:
        parser.error(f"--threads {args.threads} must be at least 1")
    torch.set_num_threads(args.threads)
    try:
        pretrain_tiny(args.data_root, args.output, replace(defaults, steps=args.steps, seed=args.seed))
    except (FileNotFoundError, ValueError) as err:
        parser.error(str(err))


if __name__ == "__main__":
    main()
