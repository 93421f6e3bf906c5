"""load_clip / build_clip: seeded tiny CLIP, local files, the cache and the offline error."""
import os
import urllib.error
from types import SimpleNamespace

import clip
import pytest
import torch
from clip import clip as openai_clip

from mopd.clip import backbones
from mopd.clip.backbones import BACKBONES, TINY, Backbone
from mopd.clip.loading import architecture_of, build_clip, load_clip
from mopd.files import download


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.fixture(scope="module")
def tiny():
    return load_clip(TINY)


@pytest.fixture
def no_download(monkeypatch):
    def offline(url, dest, **checks):
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(download, "download_url", offline)


@pytest.fixture
def tiny_like_backbone(monkeypatch):
    """A non-tiny table entry with tiny's architecture, so cache and random-init paths run fast."""
    entry = Backbone("Tiny-Cached", "https://example.invalid/abc123/Tiny-Cached.pt", BACKBONES[TINY].architecture)
    monkeypatch.setitem(backbones.BACKBONES, entry.name, entry)
    return entry


def test_tiny_is_deterministic_for_a_seed_and_differs_across_seeds(tiny):
    assert _same_weights(tiny, load_clip(TINY, seed=0))
    assert not _same_weights(tiny, load_clip(TINY, seed=1))


def test_building_tiny_leaves_the_global_random_state_untouched():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    load_clip(TINY, seed=7)
    assert torch.equal(torch.rand(3), expected)


def test_tiny_has_the_table_architecture_and_fp16_weights_like_build_model(tiny):
    assert architecture_of(tiny) == BACKBONES[TINY].architecture
    assert tiny.dtype == torch.float16
    assert tiny.text_projection.dtype == torch.float16
    assert tiny.token_embedding.weight.dtype == torch.float32  # build_model keeps embeddings fp32
    assert not tiny.training


def test_tiny_forward_runs_on_cpu_in_fp16_and_after_float(tiny):
    size = BACKBONES[TINY].architecture.image_resolution
    images = torch.randn(2, 3, size, size)
    text = clip.tokenize(["a photo of a dog.", "a cat"])
    with torch.no_grad():
        half_logits, _ = tiny(images, text)
        full = load_clip(TINY).float()
        float_logits, _ = full(images, text)
    assert half_logits.dtype == torch.float16 and float_logits.dtype == torch.float32
    assert torch.isfinite(half_logits).all() and torch.isfinite(float_logits).all()
    torch.testing.assert_close(half_logits.float(), float_logits, atol=0.05, rtol=0.01)


def test_path_state_dict_takes_precedence_over_the_seed(tmp_path, tiny):
    other = load_clip(TINY, seed=3)
    file = tmp_path / "weights.pt"
    torch.save(other.state_dict(), file)
    loaded = load_clip(TINY, path=str(file))
    assert _same_weights(loaded, other)
    assert not _same_weights(loaded, tiny)


def test_a_weights_file_is_read_once_per_process_until_it_changes(tmp_path, tiny, monkeypatch):
    """A study job trains and evaluates in one process: the weights come from disk once."""
    reads = []
    real_load = torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **k: reads.append(a[0]) or real_load(*a, **k))
    file = tmp_path / "weights.pt"
    torch.save(tiny.state_dict(), file)
    first, second = load_clip(TINY, path=str(file)), load_clip(TINY, path=str(file))
    assert len(reads) == 1
    assert _same_weights(first, tiny) and _same_weights(second, tiny)
    assert first.visual.conv1.weight.data_ptr() != second.visual.conv1.weight.data_ptr()  # two models
    other = load_clip(TINY, seed=3)
    torch.save(other.state_dict(), file)
    os.utime(file, ns=(0, os.stat(file).st_mtime_ns + 1))  # a new file, even within the clock's resolution
    assert _same_weights(load_clip(TINY, path=str(file)), other)
    assert len(reads) == 2


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning", "ignore::FutureWarning")
def test_path_jit_archive_is_read_through_its_state_dict(tmp_path):
    model = load_clip(TINY, seed=5)
    size = BACKBONES[TINY].architecture.image_resolution
    example = (torch.randn(1, 3, size, size), clip.tokenize(["a dog"]))
    file = tmp_path / "tiny-jit.pt"
    torch.jit.trace(model, example, check_trace=False).save(str(file))
    assert _same_weights(load_clip(TINY, path=str(file)), model)


def test_missing_path_raises_file_not_found_naming_it(tmp_path):
    missing = tmp_path / "nope.pt"
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        load_clip("ViT-B/16", path=str(missing))


def test_path_to_a_trainer_checkpoint_is_rejected_as_not_clip(tmp_path):
    file = tmp_path / "model.pth.tar"
    torch.save({"state_dict": {"ctx": torch.zeros(4, 8)}, "epoch": 3}, file)
    with pytest.raises(ValueError, match="not a CLIP state_dict"):
        load_clip(TINY, path=str(file))


@pytest.mark.parametrize("cut", [0.1, 0.5, 0.99, None], ids=["10%", "50%", "99%", "garbage"])
def test_path_to_a_truncated_or_garbage_file_is_a_value_error_naming_it_without_torchs_advice(tmp_path, tiny, cut):
    whole = tmp_path / "whole.pt"
    torch.save(tiny.state_dict(), whole)
    file = tmp_path / "broken.pt"
    data = whole.read_bytes()
    file.write_bytes(os.urandom(1000) if cut is None else data[: int(len(data) * cut)])
    with pytest.raises(ValueError) as info:
        load_clip(TINY, path=str(file))
    message = str(info.value)
    assert message.startswith(f"{file} (") and "is neither an OpenAI JIT archive nor a torch state_dict" in message
    assert "Point MODEL.BACKBONE.PATH to a complete copy" in message
    assert "weights_only" not in message and "\n" not in message


def test_weights_of_another_architecture_are_rejected(tmp_path, tiny):
    file = tmp_path / "tiny.pt"
    torch.save(tiny.state_dict(), file)
    with pytest.raises(ValueError, match=r"does not hold a CLIP ViT-B/16: embed_dim"):
        load_clip("ViT-B/16", path=str(file))


def test_path_and_random_init_together_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="RANDOM_INIT"):
        load_clip(TINY, path=str(tmp_path / "x.pt"), random_init=True)


def test_cache_file_is_used_without_downloading(tmp_path, no_download, tiny_like_backbone):
    source = load_clip(TINY, seed=4)
    torch.save(source.state_dict(), tmp_path / tiny_like_backbone.file_name)
    assert _same_weights(load_clip(tiny_like_backbone.name, download_root=str(tmp_path)), source)


def test_random_init_of_a_named_backbone_skips_cache_and_download(tmp_path, no_download, tiny_like_backbone):
    model = load_clip(tiny_like_backbone.name, random_init=True, download_root=str(tmp_path), seed=2)
    assert _same_weights(model, load_clip(TINY, seed=2))
    assert os.listdir(tmp_path) == []


def test_offline_without_cache_names_the_file_to_provide(tmp_path, no_download):
    with pytest.raises(FileNotFoundError) as info:
        load_clip("ViT-B/16", download_root=str(tmp_path))
    message = str(info.value)
    assert os.path.join(str(tmp_path), "ViT-B-16.pt") in message
    assert openai_clip._MODELS["ViT-B/16"] in message
    assert "MODEL.BACKBONE.PATH" in message
    assert isinstance(info.value.__cause__, urllib.error.URLError)


def test_unknown_name_raises_key_error_listing_valid_names():
    with pytest.raises(KeyError, match="Did you mean 'RN50'.*ViT-B/32"):
        load_clip("RN-50")


def test_build_clip_reads_the_backbone_config_node(tmp_path):
    def cfg(path: str = "") -> SimpleNamespace:
        node = SimpleNamespace(NAME=TINY, PATH=path, RANDOM_INIT=False)
        return SimpleNamespace(MODEL=SimpleNamespace(BACKBONE=node))

    assert _same_weights(build_clip(cfg()), load_clip(TINY))
    saved = load_clip(TINY, seed=9)
    torch.save(saved.state_dict(), tmp_path / "w.pt")
    assert _same_weights(build_clip(cfg(str(tmp_path / "w.pt"))), saved)
