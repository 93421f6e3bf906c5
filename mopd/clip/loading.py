"""Build a `clip.model.CLIP` on the CPU from a local file, the download cache, a download or a seed.

Weights are looked up in this order: an explicit file (`MODEL.BACKBONE.PATH`), the cache file of
the named backbone (`~/.cache/clip/<file>`), then OpenAI's URL. "tiny" and `random_init` build a
seeded random model of the table's architecture instead. Every model comes back as
`clip.model.build_model` makes it: fp16 weights (as CoOp uses them), in eval mode.

Concurrent jobs share the cache: a missing file is downloaded once, under a lock, verified
against the SHA-256 in its URL and renamed into place whole, so no job reads a partial file.
"""
from __future__ import annotations

import logging
import os
import re
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import fields

import torch
from clip.model import CLIP, ModifiedResNet, build_model, convert_weights
from yacs.config import CfgNode as CN

from mopd.files import download
from mopd.files.atomic import create_once
from mopd.clip.backbones import TINY, Backbone, ClipArchitecture, get_backbone
from mopd.files.torch_files import UNREADABLE_FILE_ERRORS

logger = logging.getLogger(__name__)

DEFAULT_DOWNLOAD_ROOT = os.path.join("~", ".cache", "clip")

# Keys every CLIP state_dict has; their absence means the file holds something else.
_REQUIRED_KEYS = ("token_embedding.weight", "positional_embedding", "text_projection", "ln_final.weight")


def load_clip(
    name: str,
    path: str = "",
    random_init: bool = False,
    download_root: str | None = None,
    seed: int = 0,
) -> CLIP:
    """Return the CLIP backbone `name` on the CPU with fp16 weights, in eval mode.

    Args:
        name: a name of `mopd.clip.backbones.BACKBONES` ("ViT-B/16", "RN50", ..., "tiny", "tiny12").
        path: a local state_dict file or OpenAI JIT archive; takes precedence over the cache.
        random_init: build a randomly initialised model of `name`'s architecture (benchmarks).
        download_root: cache directory of OpenAI's weight files (default ~/.cache/clip).
        seed: seed of the random weights of "tiny", "tiny12" and `random_init` models.
    """
    backbone = get_backbone(name)
    if path and random_init:
        raise ValueError(
            f"MODEL.BACKBONE.PATH={path!r} and MODEL.BACKBONE.RANDOM_INIT=True contradict each other; "
            "set one of them."
        )
    if path:
        file = os.path.expanduser(path)
        if not os.path.isfile(file):
            raise FileNotFoundError(
                f"MODEL.BACKBONE.PATH={path!r} is not a file. Give the path of a CLIP state_dict or "
                f"OpenAI JIT archive (for {name}: {backbone.file_name or 'a saved state_dict'}), "
                "or leave MODEL.BACKBONE.PATH empty to use the download cache."
            )
        fix = (
            f"Point MODEL.BACKBONE.PATH to a complete copy of the CLIP weights "
            f"(for {name}: {backbone.file_name or 'a saved state_dict'}), or leave it empty to use the download cache."
        )
        return _build_from_file(file, backbone, fix)
    if random_init or not backbone.url:  # "tiny", "tiny12": no released weights
        logger.info("Building a randomly initialised CLIP %s (seed %d)", name, seed)
        return build_random_clip(backbone.architecture, seed)
    cached = _cached_or_downloaded(backbone, download_root)
    return _build_from_file(cached, backbone, f"Delete {cached} so that it is downloaded again, or download it by hand.")


def build_clip(cfg: CN) -> CLIP:
    """Return the CLIP backbone set by cfg.MODEL.BACKBONE (NAME, PATH, RANDOM_INIT).

    Random weights ("tiny", RANDOM_INIT) use seed 0 whatever cfg.SEED is: like released weights,
    the backbone is the same model in every run.
    """
    node = cfg.MODEL.BACKBONE
    return load_clip(node.NAME, path=node.PATH, random_init=node.RANDOM_INIT)


def build_random_clip(architecture: ClipArchitecture, seed: int) -> CLIP:
    """Return a CLIP of `architecture` with CLIP's own random initialisation under `seed`, fp16, eval mode."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = CLIP(**architecture.as_kwargs())
    convert_weights(model)
    return model.eval()


def architecture_of(model: CLIP) -> ClipArchitecture:
    """Return the architecture hyper-parameters of a built CLIP model."""
    visual = model.visual
    if isinstance(visual, ModifiedResNet):
        stages = (visual.layer1, visual.layer2, visual.layer3, visual.layer4)
        vision_layers: int | tuple[int, int, int, int] = tuple(len(stage) for stage in stages)
        vision_width = visual.layer1[0].conv1.out_channels
        patch_size = None
    else:
        vision_layers = len(visual.transformer.resblocks)
        vision_width = visual.conv1.out_channels
        patch_size = visual.conv1.kernel_size[0]
    return ClipArchitecture(
        embed_dim=model.text_projection.shape[1],
        image_resolution=visual.input_resolution,
        vision_layers=vision_layers,
        vision_width=vision_width,
        vision_patch_size=patch_size,
        context_length=model.context_length,
        vocab_size=model.vocab_size,
        transformer_width=model.transformer.width,
        transformer_heads=model.transformer.resblocks[0].attn.num_heads,
        transformer_layers=model.transformer.layers,
    )


def _cached_or_downloaded(backbone: Backbone, download_root: str | None) -> str:
    """The cache file of `backbone`, downloaded first when absent (once, whatever the number of jobs)."""
    root = os.path.expanduser(download_root or DEFAULT_DOWNLOAD_ROOT)
    target = os.path.join(root, backbone.file_name)
    by_hand = (
        f"On a machine with internet access, download {backbone.url} and put the file at {target}, or set "
        f"MODEL.BACKBONE.PATH to a local copy of {backbone.file_name} (an OpenAI JIT archive or a state_dict). "
        f"For a smoke run use MODEL.BACKBONE.NAME {TINY}."
    )

    def fetch() -> str:
        logger.info("Downloading CLIP %s from %s to %s", backbone.name, backbone.url, root)
        try:
            download.download_url(backbone.url, target, sha256=_sha256_in_url(backbone.url))
        except OSError as err:
            raise FileNotFoundError(
                f"The weights of CLIP {backbone.name} are not at {target} and could not be downloaded ({err}). {by_hand}"
            ) from err
        except download.ChecksumError as err:
            raise ValueError(
                f"The download of CLIP {backbone.name} from {backbone.url} is damaged ({err.__cause__ or err}); "
                f"delete {target}.part and retry. {by_hand}"
            ) from err
        return target

    return create_once(target, lambda: target, fetch, read_only_hint=by_hand)


def _sha256_in_url(url: str) -> str:
    """The SHA-256 digest that OpenAI's weight URLs carry as their last folder ("" when there is none)."""
    folder = url.rsplit("/", 2)[-2] if url.count("/") >= 2 else ""
    return folder if re.fullmatch(r"[0-9a-f]{64}", folder) else ""


def _build_from_file(file: str, backbone: Backbone, fix: str) -> CLIP:
    logger.info("Loading CLIP %s weights from %s", backbone.name, file)
    with torch.random.fork_rng(devices=[]):  # build_model initialises randomly before loading: keep the seed
        model = build_model(dict(_read_state_dict_once(file, fix)))  # build_model deletes keys: a copy
    _check_architecture(model, backbone, file)
    return model


# The last weights file read, by (path, size, mtime): a study job's training and evaluations, run in
# one process, read the weights from disk once. One entry bounds the memory to one CLIP.
_last_read: dict[tuple[str, int, int], Mapping[str, torch.Tensor]] = {}


def _read_state_dict_once(file: str, fix: str) -> Mapping[str, torch.Tensor]:
    """`_read_state_dict`, remembered for the file as it is now (a changed file is read again)."""
    stat = os.stat(file)
    key = (os.path.realpath(file), stat.st_size, stat.st_mtime_ns)
    if key not in _last_read:
        state_dict = _read_state_dict(file, fix)
        _last_read.clear()
        _last_read[key] = state_dict
    return _last_read[key]


def _is_jit_archive(file: str) -> bool:
    """TorchScript archives are zip files with a `constants.pkl`; torch.save zips have none."""
    if not zipfile.is_zipfile(file):
        return False
    with zipfile.ZipFile(file) as archive:
        return any(name.endswith("/constants.pkl") for name in archive.namelist())


def _read_state_dict(file: str, fix: str) -> Mapping[str, torch.Tensor]:
    """The state_dict held by a JIT archive or a torch.save file; `fix` ends the message of an unreadable one."""
    try:
        if _is_jit_archive(file):
            # OpenAI publishes its weights as TorchScript; torch's deprecation of jit.load is not the user's to fix.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                return torch.jit.load(file, map_location="cpu").state_dict()
        state_dict = torch.load(file, map_location="cpu", weights_only=True)
    except PermissionError:
        raise
    except UNREADABLE_FILE_ERRORS as err:
        # torch's own message suggests weights_only=False, which would run the file's code: not shown.
        raise ValueError(
            f"{file} ({os.path.getsize(file)} bytes) is neither an OpenAI JIT archive nor a torch state_dict: it is "
            f"truncated or another kind of file ({type(err).__name__}). {fix}"
        ) from err
    missing = [key for key in _REQUIRED_KEYS if not isinstance(state_dict, Mapping) or key not in state_dict]
    if missing:
        seen = list(state_dict)[:5] if isinstance(state_dict, Mapping) else type(state_dict).__name__
        raise ValueError(
            f"{file} is not a CLIP state_dict: it lacks {missing} (found {seen}). "
            "MODEL.BACKBONE.PATH must point to CLIP weights, not to a trainer checkpoint."
        )
    return state_dict


def _check_architecture(model: CLIP, backbone: Backbone, file: str) -> None:
    found = architecture_of(model)
    expected = backbone.architecture
    differences = [
        f"{field.name} {getattr(found, field.name)} (expected {getattr(expected, field.name)})"
        for field in fields(ClipArchitecture)
        if getattr(found, field.name) != getattr(expected, field.name)
    ]
    if differences:
        raise ValueError(
            f"{file} does not hold a CLIP {backbone.name}: {', '.join(differences)}. "
            "Set MODEL.BACKBONE.NAME to the backbone of that file."
        )
