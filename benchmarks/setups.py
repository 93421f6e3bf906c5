"""One method's model, loss and optimizer on this repo's path ("ours") or the naive path, built as the trainers build them.

The trainers' step is `CoOp.forward_backward`: autocast, model(image), the method's losses, then
zero_grad / scaled backward / optimizer step; evaluation is `CoOp.test`: class features encoded
once, then one matrix product per test batch. The naive path swaps in CoOp's full-length text
encoder, builds fixed text features one template at a time, re-encodes the class prompts for
every test batch and runs CoCoOp's per-image loop.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import clip
import torch
import torch.nn.functional as F
from clip.model import CLIP
from torch import Tensor

from measure import Elapsed, count_text_tokens, stopwatch
from mopd.clip.text_encoder import count_tokens
from mopd.methods.class_text_features import class_prompts, encode_class_prompts
from mopd.methods.gate import PromptGate
from mopd.methods.kgcoop_loss import kgcoop_loss, kgcoop_objective
from mopd.methods.mopd_loss import mopd_loss_terms, mopd_total_loss
from mopd.methods.teacher_bank import TeacherBank
from mopd.clip.precision import PrecisionPolicy
from mopd.prompts.cocoop_prompt_learner import CoCoOpPromptLearner
from mopd.prompts.pools import load_teacher_pool
from mopd.prompts.prompt_learner import PromptLearner
from mopd.prompts.prompted_clip import ConditionalPromptedCLIP, PromptedCLIP, PromptedOutput
from mopd.prompts.templates import hand_crafted_template
from naive import FullLengthTextEncoder, per_template_class_features

METHODS: tuple[str, ...] = ("CoOp", "KgCoOp", "CoCoOp", "MoPD")
PATHS: tuple[str, ...] = ("ours", "naive")


@dataclass(frozen=True)
class MethodSettings:
    """The published ViT-B/16 settings the trainers read from their configs."""

    dataset: str = "ImageNet"  # picks the hand-crafted template and the custom teacher pool
    n_ctx: int = 4  # TRAINER.COOP.N_CTX (overridden by CTX_INIT's length)
    ctx_init: str = "a photo of a"  # TRAINER.COOP.CTX_INIT
    lr: float = 0.002  # OPTIM.LR, SGD with Dassl's momentum and weight decay
    kgcoop_w: float = 8.0  # TRAINER.KGCOOP.W
    mopd_pool: str = "custom"  # TRAINER.MOPD.POOL
    mopd_top_k: int = 2  # TRAINER.MOPD.TOP_K
    mopd_temperature: float = 1.0  # TRAINER.MOPD.TEMPERATURE
    mopd_w: float = 0.8  # TRAINER.MOPD.W
    mopd_w2: float = 0.1  # TRAINER.MOPD.W2
    cocoop_images_per_call: int = 8  # TRAINER.COCOOP.IMAGES_PER_CALL (ours; naive loops per image)


@dataclass
class TokenFigures:
    """Tokens a text-encoding job processed, against the least it must (sum of EOT position + 1)."""

    processed: int
    minimal: int
    full: int  # prompts x context length, the naive cost

    def as_dict(self) -> dict[str, float]:
        """JSON-ready figures with the processed / minimal ratio."""
        return {
            "processed": self.processed,
            "minimal": self.minimal,
            "full": self.full,
            "processed_over_minimal": round(self.processed / self.minimal, 3),
        }


@dataclass
class MethodSetup:
    """What a benchmark case runs: the model, its loss, its optimizer and the cost of its fixed text features."""

    method: str
    path: str
    model: PromptedCLIP
    precision: PrecisionPolicy
    optimizer: torch.optim.Optimizer
    compute_loss: Callable[[PromptedOutput, Tensor], Tensor]
    text_build: Elapsed | None  # teacher bank (MoPD) or hand-crafted features (KgCoOp); None if none
    text_build_tokens: TokenFigures | None


def build_setup(
    method: str,
    path: str,
    cpu_clip: CLIP,
    device_clip: CLIP,
    classnames: list[str],
    precision: PrecisionPolicy,
    settings: MethodSettings,
    seed: int = 0,
    random_teacher_bank: bool = False,
) -> MethodSetup:
    """Build `method` on `path`; prompt buffers come from `cpu_clip`, the computation runs on `device_clip`.

    Both CLIPs hold the same weights (`device_clip` may be `cpu_clip`); the prompt learner is built
    from the CPU copy, as the trainers build it before moving the model. `random_teacher_bank`
    fills MoPD's bank with random unit vectors instead of encoding it (a step costs the same).
    """
    device = device_clip.positional_embedding.device
    templates = load_teacher_pool(settings.mopd_pool, settings.dataset) if method == "MoPD" else []
    model = _prompted_clip(method, path, cpu_clip, device_clip, classnames, len(templates), settings, seed)
    model.to(device)
    # Dassl's SGD defaults: momentum 0.9, weight decay 5e-4.
    optimizer = torch.optim.SGD(model.prompt_learner.parameters(), lr=settings.lr, momentum=0.9, weight_decay=5e-4)

    text_build, text_build_tokens = None, None
    compute_loss = cross_entropy_loss
    if method == "KgCoOp":
        template = hand_crafted_template(settings.dataset)
        hand_crafted, text_build, text_build_tokens = _fixed_text_features(model, path, precision, [template], classnames)
        compute_loss = _kgcoop_loss(hand_crafted[0], settings.kgcoop_w)
    elif method == "MoPD" and random_teacher_bank:
        embed_dim = device_clip.text_projection.shape[1]
        features = F.normalize(torch.randn(len(templates), len(classnames), embed_dim), dim=-1)
        compute_loss = _mopd_loss(model, TeacherBank(features.to(device, device_clip.dtype)), settings)
    elif method == "MoPD":
        features, text_build, text_build_tokens = _fixed_text_features(model, path, precision, templates, classnames)
        compute_loss = _mopd_loss(model, TeacherBank(features), settings)
    return MethodSetup(method, path, model, precision, optimizer, compute_loss, text_build, text_build_tokens)


def _prompted_clip(method: str, path: str, cpu_clip: CLIP, device_clip: CLIP, classnames: list[str],
                   num_teacher_prompts: int, settings: MethodSettings, seed: int) -> PromptedCLIP:
    """The method's model with only the prompt learner (and MoPD's gate) trainable, on the path's text encoder."""
    torch.manual_seed(seed)  # CoCoOp's meta-network: the same start on both paths
    if method == "CoCoOp":
        learner = CoCoOpPromptLearner(classnames, cpu_clip, settings.n_ctx, settings.ctx_init)
        images_per_call = settings.cocoop_images_per_call if path == "ours" else 1
        model: PromptedCLIP = ConditionalPromptedCLIP(device_clip, learner, images_per_call)
    else:
        learner = PromptLearner(classnames, cpu_clip, settings.n_ctx, settings.ctx_init)
        model = PromptedCLIP(device_clip, learner)
    if path == "naive":
        model.text_encoder = FullLengthTextEncoder(device_clip)
    if method == "MoPD":
        embed_dim = device_clip.text_projection.shape[1]
        gate = PromptGate(embed_dim, num_teacher_prompts, settings.mopd_top_k, dtype=device_clip.dtype)
        learner.add_module("gate", gate)
    for name, param in model.named_parameters():
        param.requires_grad_(name.startswith("prompt_learner."))
    return model


def train_step(setup: MethodSetup, images: Tensor, labels: Tensor) -> float:
    """One training step as `CoOp.forward_backward` runs it; returns the loss."""
    with setup.precision.autocast():
        output = setup.model(images)
        loss = setup.compute_loss(output, labels)
    setup.optimizer.zero_grad(set_to_none=True)
    setup.precision.scale(loss).backward()
    setup.precision.step(setup.optimizer)
    return loss.item()


@torch.no_grad()
def evaluate(setup: MethodSetup, batches: list[Tensor]) -> Tensor:
    """Logits (N, C) of the test batches: ours encodes the class prompts once (`CoOp.test`), naive per batch."""
    model = setup.model
    with setup.precision.autocast():
        text_features = model.encode_classes() if setup.path == "ours" else None
        return torch.cat([model(batch, text_features).logits.float() for batch in batches])


def training_prompt_tokens(setup: MethodSetup, num_images: int) -> int:
    """Least tokens one training step's prompts need: sum of (EOT position + 1), per image for CoCoOp."""
    minimal = count_tokens(setup.model.prompt_learner.tokenized_prompts).minimal
    return minimal * num_images if setup.method == "CoCoOp" else minimal


def _fixed_text_features(
    model: PromptedCLIP, path: str, precision: PrecisionPolicy, templates: list[str], classnames: list[str]
) -> tuple[Tensor, Elapsed, TokenFigures]:
    """(P, C, D) hand-written prompt features, their build time and token figures."""
    device = model.logit_scale.device
    counts = count_tokens(clip.tokenize(class_prompts(templates, classnames)))
    with stopwatch(device) as elapsed, count_text_tokens(model.text_encoder.transformer) as tally:
        with torch.no_grad(), precision.autocast():
            if path == "ours":
                features = encode_class_prompts(model.text_encoder, templates, classnames)
            else:
                features = per_template_class_features(model.text_encoder, templates, classnames)
    return features, elapsed, TokenFigures(tally.processed, counts.minimal, counts.full)


def cross_entropy_loss(output: PromptedOutput, labels: Tensor) -> Tensor:
    """CoOp's loss: cross-entropy of the logits, computed in fp32."""
    return F.cross_entropy(output.logits.float(), labels)


def _kgcoop_loss(hand_crafted: Tensor, weight: float) -> Callable[[PromptedOutput, Tensor], Tensor]:
    def loss(output: PromptedOutput, labels: Tensor) -> Tensor:
        ce = cross_entropy_loss(output, labels)
        return kgcoop_objective(ce, kgcoop_loss(output.text_features, hand_crafted), weight)

    return loss


def _mopd_loss(model: PromptedCLIP, bank: TeacherBank, settings: MethodSettings) -> Callable[[PromptedOutput, Tensor], Tensor]:
    gate = model.prompt_learner.gate

    def loss(output: PromptedOutput, labels: Tensor) -> Tensor:
        weights, indices = gate(output.image_features)
        teacher_logits = bank.logits(output.image_features, output.logit_scale)
        terms = mopd_loss_terms(output.logits, teacher_logits, labels, weights, indices, settings.mopd_temperature)
        return mopd_total_loss(terms, settings.mopd_w, settings.mopd_w2)

    return loss

