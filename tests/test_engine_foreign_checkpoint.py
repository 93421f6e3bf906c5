"""Tests for mopd.engine.foreign_checkpoint through load_checkpoint: Dassl-format files read, no pickled code run."""
import builtins
import os
import pickle
import subprocess
import sys

import pytest
import torch
from torch import nn

from dassl_like import ConstantWarmupScheduler, dassl_checkpoint, dassl_scheduler_module, save_dassl_checkpoint
from mopd.engine.checkpoint import load_checkpoint
from mopd.engine.foreign_checkpoint import InertObject, inert_objects_in, load_foreign_checkpoint


def _learned():
    torch.manual_seed(0)
    return {"ctx": torch.randn(4, 8), "token_prefix": torch.randn(3, 1, 8), "token_suffix": torch.randn(3, 12, 8)}


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
def test_dassl_checkpoint_with_scheduler_objects_is_read_with_its_tensors(zip_format, tmp_path):
    path = str(tmp_path / "model.pth.tar-2")
    learned = _learned()
    with dassl_scheduler_module():
        expected = dassl_checkpoint(learned, epoch=2)
        torch.save(expected, path, _use_new_zipfile_serialization=zip_format)
    with pytest.raises(pickle.UnpicklingError, match="CosineAnnealingLR"):
        torch.load(path, weights_only=True)  # what every checkpoint of the CoOp family meets today

    checkpoint = load_checkpoint(path)
    assert checkpoint["epoch"] == 2 and checkpoint["val_result"] is None
    for key, value in learned.items():
        assert torch.equal(checkpoint["state_dict"][key], value)
    momentum = checkpoint["optimizer"]["state"][0]["momentum_buffer"]
    assert torch.equal(momentum, expected["optimizer"]["state"][0]["momentum_buffer"])
    successor = checkpoint["scheduler"]["successor"]
    assert isinstance(successor, InertObject)
    assert successor.pickled_class == "torch.optim.lr_scheduler.CosineAnnealingLR"
    assert successor.state["T_max"] == 10.0 and successor.state["last_epoch"] == 1
    assert checkpoint["scheduler"]["cons_lr"] == 1e-5
    assert inert_objects_in(checkpoint["scheduler"]) == ["torch.optim.lr_scheduler.CosineAnnealingLR"]


def test_pickled_warmup_scheduler_object_stays_inert_even_while_its_class_is_importable(tmp_path):
    path = str(tmp_path / "scheduler.pth")
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(2))], lr=0.1)
    with dassl_scheduler_module():
        cosine = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, 5.0)
        scheduler = ConstantWarmupScheduler(optimizer, cosine, 1, 1e-5)
        torch.save({"state_dict": {"w": torch.ones(2)}, "scheduler_object": scheduler}, path)
        loaded = load_checkpoint(path)
    obj = loaded["scheduler_object"]
    assert type(obj) is not ConstantWarmupScheduler and isinstance(obj, InertObject)
    assert obj.pickled_class == "dassl.optim.lr_scheduler.ConstantWarmupScheduler"
    assert obj.state["warmup_epoch"] == 1
    assert torch.equal(loaded["state_dict"]["w"], torch.ones(2))


class _ReduceRuns:
    """Pickles as a call of `func(*args)`: what a malicious checkpoint does."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


class _SetstateRuns:
    """A class whose own __setstate__ has a side effect (it must never be imported and called)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __setstate__(self, state):
        open(state["marker"], "w").close()


def test_pickled_code_is_never_run_and_the_payload_becomes_inert(tmp_path):
    markers = [tmp_path / f"executed-{i}" for i in range(4)]
    payloads = [
        _ReduceRuns(os.system, f"touch {markers[0]}"),
        _ReduceRuns(builtins.exec, f"open({str(markers[1])!r}, 'w').close()"),
        _ReduceRuns(subprocess.call, ["touch", str(markers[2])]),
        _SetstateRuns(markers[3]),
    ]
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": {"ctx": torch.ones(2)}, "payloads": payloads}, path)

    checkpoint = load_checkpoint(str(path))
    assert not any(marker.exists() for marker in markers)
    assert all(isinstance(payload, InertObject) for payload in checkpoint["payloads"])
    names = [payload.pickled_class for payload in checkpoint["payloads"]]
    assert names[0] in ("posix.system", "os.system") and names[1] == "builtins.exec"
    assert names[2] == "subprocess.call" and names[3].endswith("_SetstateRuns")
    assert torch.equal(checkpoint["state_dict"]["ctx"], torch.ones(2))


def test_inert_objects_cannot_be_called_to_chain_a_payload(tmp_path):
    # GLOBAL posix.system, REDUCE -> an inert instance; REDUCE on that instance must fail, not run anything.
    marker = tmp_path / "executed"
    payload = (b"\x80\x02cposix\nsystem\nX\x01\x00\x00\x00x\x85R"
               + b"X" + len(f"touch {marker}").to_bytes(4, "little") + f"touch {marker}".encode() + b"\x85R.")
    path = tmp_path / "chain.pth"
    path.write_bytes(payload)
    with pytest.raises(ValueError, match="cannot load checkpoint"):
        load_checkpoint(str(path))
    assert not marker.exists()


def test_torchscript_archive_is_refused_without_being_loaded(tmp_path):
    path = str(tmp_path / "scripted.pt")
    torch.jit.save(torch.jit.script(nn.Linear(2, 2)), path)
    with pytest.raises(ValueError, match="TorchScript"):
        load_foreign_checkpoint(path)
    with pytest.raises(ValueError, match="cannot load checkpoint"):
        load_checkpoint(path)


def test_save_dassl_checkpoint_leaves_no_fake_dassl_module_behind(tmp_path):
    before = {name: sys.modules.get(name) for name in ("dassl", "dassl.optim", "dassl.optim.lr_scheduler")}
    save_dassl_checkpoint(str(tmp_path / "m.pth"), {"ctx": torch.zeros(2, 3)}, epoch=1)
    assert {name: sys.modules.get(name) for name in before} == before
