"""Tests for mopd.engine datasets, transforms and DataManager (Dassl's loader semantics)."""
import random
from pathlib import Path

import pytest
import torch
from PIL import Image
from torchvision.transforms import InterpolationMode

from mopd.engine.data_manager import DataManager, DatasetWrapper
from mopd.engine.datasets import DATASET_REGISTRY, DatasetBase, Datum
from mopd.engine.defaults import get_cfg_default
from mopd.engine.transforms import build_transform

COLORS = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]


def _write_images(directory, n_per_class, size=(12, 8)):
    """Write n_per_class solid-colour PNGs per class into directory; return [(path, label)]."""
    directory.mkdir(parents=True, exist_ok=True)
    items = []
    for label, color in enumerate(COLORS):
        for i in range(n_per_class):
            path = directory / f"{label}_{i}.png"
            Image.new("RGB", size, color).save(path)
            items.append((str(path), label))
    return items


def _datums(items):
    return [Datum(impath=path, label=label, classname=f"class{label}") for path, label in items]


@DATASET_REGISTRY.register()
class EngineDataFakeImages(DatasetBase):
    """Solid-colour images under DATASET.ROOT/{train,val,test}; val only if the folder exists."""

    def __init__(self, cfg):
        root = Path(cfg.DATASET.ROOT)

        def read(split):
            paths = sorted((root / split).glob("*.png"))
            return _datums([(str(p), int(p.name.split("_")[0])) for p in paths])

        super().__init__(train_x=read("train"), val=read("val") or None, test=read("test"))


def _cfg(root, **loader):
    cfg = get_cfg_default()
    cfg.DATASET.NAME = "EngineDataFakeImages"
    cfg.DATASET.ROOT = str(root)
    cfg.INPUT.SIZE = (8, 8)
    cfg.INPUT.TRANSFORMS = ("random_flip", "normalize")
    cfg.DATALOADER.NUM_WORKERS = 0
    cfg.DATALOADER.TRAIN_X.BATCH_SIZE = loader.get("train_bs", 2)
    cfg.DATALOADER.TEST.BATCH_SIZE = loader.get("test_bs", 2)
    cfg.USE_CUDA = False
    return cfg


def test_datum_with_missing_file_raises_file_not_found_naming_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.jpg"):
        Datum(impath=str(tmp_path / "missing.jpg"), label=0)


def test_dataset_base_derives_classes_from_train_x(tmp_path):
    items = _write_images(tmp_path, 1)
    dataset = DatasetBase(train_x=_datums(items[::-1]), test=_datums(items))
    assert dataset.num_classes == 3
    assert dataset.lab2cname == {0: "class0", 1: "class1", 2: "class2"}
    assert dataset.classnames == ["class0", "class1", "class2"]
    with pytest.raises(ValueError, match="train_x"):
        DatasetBase(train_x=[], test=_datums(items))


def test_fewshot_sampling_matches_dassl_rng_use(tmp_path):
    data = _datums(_write_images(tmp_path, 4))
    data += _datums([(data[0].impath, 2)])  # label 2 now has 5 items, labels 0 and 1 have 4
    dataset = DatasetBase(train_x=data, test=data)

    random.seed(3)
    sampled = dataset.generate_fewshot_dataset(data, num_shots=2)
    random.seed(3)
    expected = []
    for label in (0, 1, 2):  # order of first appearance; random.sample per class, as Dassl
        expected += random.sample([d for d in data if d.label == label], 2)
    assert sampled == expected

    few = dataset.generate_fewshot_dataset(data, num_shots=6)
    assert len(few) == len(data)  # fewer items than shots and no repeat: keep them all
    repeated = dataset.generate_fewshot_dataset(data, num_shots=6, repeat=True)
    assert [sum(d.label == c for d in repeated) for c in range(3)] == [6, 6, 6]
    train, val = dataset.generate_fewshot_dataset(data, data, num_shots=1)
    assert len(train) == len(val) == 3
    assert dataset.generate_fewshot_dataset(data, num_shots=-1) is data


def test_train_loader_drops_last_partial_batch_only_when_a_full_batch_exists(tmp_path):
    _write_images(tmp_path / "train", 2)  # 6 images
    _write_images(tmp_path / "test", 1)  # 3 images
    dm = DataManager(_cfg(tmp_path, train_bs=4, test_bs=2))
    assert len(dm.train_loader_x) == 1  # 6 // 4, last partial batch dropped
    assert len(dm.test_loader) == 2  # test keeps the partial batch
    assert dm.val_loader is None and dm.train_loader_u is None

    dm_small = DataManager(_cfg(tmp_path, train_bs=8))
    assert len(dm_small.train_loader_x) == 1
    assert next(iter(dm_small.train_loader_x))["img"].shape[0] == 6  # fewer than a batch: not dropped


def test_data_manager_batches_and_attributes(tmp_path):
    _write_images(tmp_path / "train", 2)
    _write_images(tmp_path / "val", 1)
    _write_images(tmp_path / "test", 1)
    dm = DataManager(_cfg(tmp_path, test_bs=3))
    assert dm.num_classes == 3 and dm.num_source_domains == 0
    assert dm.lab2cname == {0: "class0", 1: "class1", 2: "class2"}
    assert dm.val_loader is not None
    batch = next(iter(dm.test_loader))
    assert set(batch) == {"img", "label", "domain", "impath", "index"}
    assert batch["img"].shape == (3, 3, 8, 8)
    assert batch["label"].tolist() == [0, 1, 2]
    assert batch["index"].tolist() == [0, 1, 2]
    # Solid red, normalised with ImageNet statistics.
    mean, std = get_cfg_default().INPUT.PIXEL_MEAN, get_cfg_default().INPUT.PIXEL_STD
    expected_red = [(1.0 - mean[0]) / std[0], (0.0 - mean[1]) / std[1], (0.0 - mean[2]) / std[2]]
    assert batch["img"][0].mean(dim=(1, 2)).tolist() == pytest.approx(expected_red, abs=1e-5)


def test_corrupt_image_error_names_the_file(tmp_path):
    _write_images(tmp_path / "train", 1)
    _write_images(tmp_path / "test", 1)
    (tmp_path / "test" / "0_0.png").write_bytes(b"not a png")
    dm = DataManager(_cfg(tmp_path))
    with pytest.raises(OSError, match="0_0.png"):
        next(iter(dm.test_loader))


def test_test_transform_resizes_shorter_edge_then_center_crops(tmp_path):
    cfg = get_cfg_default()
    cfg.INPUT.SIZE = (4, 4)
    cfg.INPUT.INTERPOLATION = "nearest"
    image = Image.new("RGB", (16, 8), (0, 0, 0))
    for x in range(6, 10):  # a white band in the middle columns survives the centre crop
        for y in range(8):
            image.putpixel((x, y), (255, 255, 255))
    out = build_transform(cfg, is_train=False)(image)
    assert out.shape == (3, 4, 4)
    assert torch.equal(out[0], torch.tensor([[0.0, 1.0, 1.0, 0.0]] * 4))


def test_random_resized_crop_uses_configured_scale_and_bicubic(tmp_path):
    cfg = get_cfg_default()
    cfg.INPUT.TRANSFORMS = ("random_resized_crop", "random_flip", "normalize")
    cfg.INPUT.INTERPOLATION = "bicubic"
    cfg.INPUT.RRCROP_SCALE = (0.5, 1.0)
    steps = build_transform(cfg, is_train=True).transforms
    names = [type(step).__name__ for step in steps]
    assert names == ["RandomResizedCrop", "RandomHorizontalFlip", "ToTensor", "Normalize"]
    assert steps[0].scale == (0.5, 1.0) and steps[0].interpolation == InterpolationMode.BICUBIC


def test_unknown_transform_and_interpolation_names_raise_value_error():
    cfg = get_cfg_default()
    cfg.INPUT.TRANSFORMS = ("random_flipp",)
    with pytest.raises(ValueError, match="random_flip"):
        build_transform(cfg)
    cfg.INPUT.TRANSFORMS = ("cutout",)
    with pytest.raises(ValueError, match="Dassl"):
        build_transform(cfg)
    cfg.INPUT.TRANSFORMS = ()
    cfg.INPUT.INTERPOLATION = "lanczos"
    with pytest.raises(ValueError, match="bicubic"):
        build_transform(cfg)


def test_unknown_dataset_name_suggests_nearest(tmp_path):
    cfg = _cfg(tmp_path)
    cfg.DATASET.NAME = "EngineDataFakeImage"
    with pytest.raises(KeyError, match="EngineDataFakeImages"):
        DataManager(cfg)


def _augmented_epochs(root, workers: int, epochs: range) -> list[list[tuple[torch.Tensor, torch.Tensor]]]:
    """(indices, images) of every training batch of `epochs`, reseeding per epoch as the trainers do."""
    cfg = _cfg(root, train_bs=4)
    cfg.INPUT.TRANSFORMS = ("random_resized_crop", "random_flip", "normalize")
    cfg.DATALOADER.NUM_WORKERS = workers
    loader = DataManager(cfg).train_loader_x
    assert loader.persistent_workers == (workers > 0)
    result = []
    for epoch in epochs:
        torch.manual_seed(100 + epoch)
        result.append([(batch["index"], batch["img"]) for batch in loader])
    return result


def _same(first, second) -> bool:
    return all(torch.equal(a, b) for x, y in zip(first, second, strict=True) for a, b in zip(x, y))


def test_augmentation_depends_on_the_epoch_seed_not_on_workers_or_their_restarts(tmp_path):
    noise = torch.Generator().manual_seed(0)
    for split, count in (("train", 15), ("test", 3)):  # 15 training images: 3 batches of 4
        (tmp_path / split).mkdir()
        for i in range(count):
            pixels = torch.randint(256, (12, 16, 3), generator=noise, dtype=torch.uint8).numpy()
            Image.fromarray(pixels).save(tmp_path / split / f"{i % 3}_{i}.png")  # crops of noise differ
    in_process = _augmented_epochs(tmp_path, 0, range(3))
    persistent = _augmented_epochs(tmp_path, 2, range(3))
    resumed = _augmented_epochs(tmp_path, 2, range(2, 3))  # fresh workers at epoch 3, as after a crash
    assert all(_same(a, b) for a, b in zip(in_process, persistent, strict=True))
    assert _same(persistent[2], resumed[0])
    first, again = in_process[0][0], _augmented_epochs(tmp_path, 0, range(1))[0][0]
    assert _same([first], [again])
    # Another epoch seed gives other crops of the same image.
    other = {int(i): img for i, img in zip(*in_process[1][0])} | {int(i): img for i, img in zip(*in_process[1][1])}
    shared = [k for k, i in enumerate(first[0].tolist()) if i in other]
    assert shared and all(not torch.equal(first[1][k], other[first[0][k].item()]) for k in shared)


class _IndexOnlyWrapper(DatasetWrapper):
    """A user's wrapper written for Dassl: __getitem__ takes a plain index."""

    def __getitem__(self, idx):
        assert isinstance(idx, int), idx
        return {"img": torch.rand(1), "label": self.data_source[idx].label}  # augmentation from the worker's RNG


def test_a_custom_dataset_wrapper_gets_plain_indices_and_workers_per_epoch(tmp_path):
    _write_images(tmp_path / "train", 2)
    _write_images(tmp_path / "test", 1)
    cfg = _cfg(tmp_path, train_bs=2)
    cfg.DATALOADER.NUM_WORKERS = 1

    def epochs(first: int, last: int) -> list[list[float]]:
        loader = DataManager(cfg, dataset_wrapper=_IndexOnlyWrapper).train_loader_x
        assert not loader.persistent_workers
        drawn = []
        for epoch in range(first, last):
            torch.manual_seed(100 + epoch)
            drawn.append([value for batch in loader for value in batch["img"].flatten().tolist()])
        return drawn

    uninterrupted = epochs(0, 2)
    assert len(uninterrupted[1]) == 6
    assert epochs(1, 2)[0] == uninterrupted[1]  # workers seeded from the reseeded RNG: resumes exactly
