"""Contrastive pre-training of the tiny CLIP: the loss, training, the saved file and skipping a finished run."""
import json
import math
import os

import clip
import pytest
import torch
import torchvision.transforms.functional as TF
from PIL import Image

from mopd.demo import pretrain_tiny
from mopd.clip.backbones import TINY
from mopd.clip.loading import load_clip
from mopd.demo.pretrain_tiny import (
    PIXEL_MEAN,
    PIXEL_STD,
    PretrainSettings,
    class_names_of,
    clip_contrastive_loss,
    sidecar_path,
)
from mopd.data.splits import read_split
from mopd.data.synthetic import generate_synthetic_dataset

FAST = PretrainSettings(steps=30, batch_size=24)  # the whole train split in every batch


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    generate_synthetic_dataset(
        str(root), num_classes=4, train_per_class=6, val_per_class=1, test_per_class=3, image_size=32
    )
    return str(root)


@pytest.fixture(scope="module")
def trained(data_root, tmp_path_factory):
    output = str(tmp_path_factory.mktemp("weights") / "tiny.pt")
    return output, pretrain_tiny.pretrain_tiny(data_root, output, FAST)


def _naive_loss(image_features, text_features, logit_scale, labels):
    """Both InfoNCE directions written as loops; other pairs of the same class are no negatives."""
    images = [f / f.norm() for f in image_features]
    texts = [f / f.norm() for f in text_features]
    scale = math.exp(float(logit_scale))
    n = len(labels)
    total = 0.0
    for i in range(n):
        negatives = [j for j in range(n) if j == i or labels[j] != labels[i]]
        image_to_text = [scale * float(images[i] @ texts[j]) for j in negatives]
        text_to_image = [scale * float(texts[i] @ images[j]) for j in negatives]
        positive = scale * float(images[i] @ texts[i])
        total += math.log(sum(math.exp(v) for v in image_to_text)) - positive
        total += math.log(sum(math.exp(v) for v in text_to_image)) - positive
    return total / (2 * n)


def _test_records(data_root):
    with open(os.path.join(data_root, "synthetic", "split_synthetic.json")) as f:
        return json.load(f)["test"]


def _test_pairs(data_root):
    """(images, tokens, labels): every test image with the caption "a photo of a <its class>."."""
    records = _test_records(data_root)
    images = []
    for rel_path, _, _ in records:
        with Image.open(os.path.join(data_root, "synthetic", "images", rel_path)) as image:
            tensor = TF.to_tensor(image.convert("RGB").resize((32, 32), Image.BICUBIC))
        images.append(TF.normalize(tensor, PIXEL_MEAN, PIXEL_STD))
    tokens = clip.tokenize([f"a photo of a {name}." for _, _, name in records])
    return torch.stack(images), tokens, torch.tensor([label for _, label, _ in records])


@torch.no_grad()
def _loss_on_test_pairs(model, data_root):
    images, tokens, labels = _test_pairs(data_root)
    model = model.float()
    image_features, text_features = model.encode_image(images), model.encode_text(tokens)
    return float(clip_contrastive_loss(image_features, text_features, model.logit_scale, labels))


def test_contrastive_loss_matches_a_loop_that_drops_same_class_negatives():
    torch.manual_seed(0)
    image_features, text_features = torch.randn(6, 5), torch.randn(6, 5)
    labels = torch.tensor([0, 1, 0, 2, 1, 0])
    logit_scale = torch.tensor(math.log(10.0))
    expected = _naive_loss(image_features, text_features, logit_scale, labels)
    got = clip_contrastive_loss(image_features, text_features, logit_scale, labels)
    assert float(got) == pytest.approx(expected, rel=1e-5)


def test_pretraining_lowers_the_contrastive_loss_of_the_saved_model(trained, data_root):
    output, result = trained
    assert result.trained and len(result.losses) == FAST.steps
    random_loss = _loss_on_test_pairs(load_clip(TINY), data_root)
    assert _loss_on_test_pairs(load_clip(TINY, path=output), data_root) < 0.5 * random_loss


def test_saved_weights_load_as_tiny_with_fp16_weights_like_other_clips(trained):
    output, _ = trained
    model = load_clip(TINY, path=output)
    assert model.text_projection.dtype == torch.float16
    assert model.visual.conv1.weight.dtype == torch.float16
    state = torch.load(output, map_location="cpu", weights_only=True)
    assert state.keys() == load_clip(TINY).state_dict().keys()
    assert not torch.equal(state["token_embedding.weight"], load_clip(TINY).token_embedding.weight)


def test_recorded_zero_shot_accuracy_is_that_of_the_saved_file(trained, data_root):
    output, result = trained
    images, _, labels = _test_pairs(data_root)
    names = [name for _, name in sorted({(label, name) for _, label, name in _test_records(data_root)})]
    model = load_clip(TINY, path=output).float()
    with torch.no_grad():
        image_features = model.encode_image(images)
        text_features = model.encode_text(clip.tokenize([f"a photo of a {name}." for name in names]))
        image_features = image_features / image_features.norm(dim=-1, keepdim=True)
        text_features = text_features / text_features.norm(dim=-1, keepdim=True)
        predictions = (image_features @ text_features.t()).argmax(dim=-1)
    assert result.zero_shot_accuracy == pytest.approx(100.0 * float((predictions == labels).float().mean()))
    with open(sidecar_path(output)) as f:
        assert json.load(f)["zero_shot_accuracy"] == pytest.approx(result.zero_shot_accuracy)


def test_a_rerun_with_the_same_settings_skips_training_and_keeps_the_file(trained, data_root, monkeypatch):
    output, result = trained
    with open(output, "rb") as f:
        before = f.read()

    def no_training(*args, **kwargs):
        raise AssertionError("pre-training ran again")

    monkeypatch.setattr(pretrain_tiny, "pretrain_clip", no_training)
    again = pretrain_tiny.pretrain_tiny(data_root, output, FAST)
    assert not again.trained and again.zero_shot_accuracy == result.zero_shot_accuracy
    with open(output, "rb") as f:
        assert f.read() == before


def test_other_settings_or_a_changed_file_train_again(data_root, tmp_path):
    output = str(tmp_path / "tiny.pt")
    settings = PretrainSettings(steps=2, batch_size=8)
    assert pretrain_tiny.pretrain_tiny(data_root, output, settings).trained
    assert pretrain_tiny.pretrain_tiny(data_root, output, PretrainSettings(steps=2, batch_size=8, seed=1)).trained
    with open(output, "ab") as f:
        f.write(b"\0")
    assert pretrain_tiny.pretrain_tiny(data_root, output, PretrainSettings(steps=2, batch_size=8, seed=1)).trained


def test_pretraining_is_deterministic_for_a_seed_and_leaves_the_global_random_state(data_root):
    dataset_dir = os.path.join(data_root, "synthetic")
    train, _, _ = read_split(os.path.join(dataset_dir, "split_synthetic.json"), os.path.join(dataset_dir, "images"))
    names = class_names_of(train)
    settings = PretrainSettings(steps=3, batch_size=8)
    torch.manual_seed(5)
    expected_draw = torch.rand(3)
    torch.manual_seed(5)
    first, second = load_clip(TINY).float(), load_clip(TINY).float()
    first_losses = pretrain_tiny.pretrain_clip(first, train, names, settings)
    assert torch.equal(torch.rand(3), expected_draw)
    assert pretrain_tiny.pretrain_clip(second, train, names, settings) == first_losses
    a, b = first.state_dict(), second.state_dict()
    assert all(torch.equal(a[key], b[key]) for key in a)
    assert not torch.equal(a["token_embedding.weight"], load_clip(TINY).token_embedding.weight.float())


def test_a_missing_dataset_names_the_command_that_generates_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m mopd.data.synthetic --root"):
        pretrain_tiny.pretrain_tiny(str(tmp_path), str(tmp_path / "tiny.pt"), FAST)
