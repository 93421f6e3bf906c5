"""Evaluate every trainer with the feature cache off, then on, in one process of the backend MOPD_BACKEND selects.

Run by tests/test_feature_cache_trainers.py as `python feature_cache_probe.py DATA_ROOT WORK_DIR PREC...`. It
prints one JSON object: per precision, for each trainer and mode ("off", then "on"), the logits the evaluator received
and those of the model's forward pass (the training path) on the same images,
the results, the features the image encoder produced (with the cache on: those stored in the cache
file afterwards), how many images the encoder saw and how many samples the test loader read.
"""
from __future__ import annotations

import json
import os
import sys

TESTS = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(TESTS), TESTS]

import torch  # noqa: E402

import datasets  # noqa: E402,F401  (registers the datasets)
import trainers  # noqa: E402,F401  (registers the trainers)
from e2e import TINY, config  # noqa: E402
from mopd.backend import BACKEND, TRAINER_REGISTRY, build_trainer, set_random_seed  # noqa: E402
from mopd.config.defaults import get_cfg  # noqa: E402
from mopd.feature_cache.store import FeatureStore  # noqa: E402
from test_train_e2e import TRAINER_CONFIGS, TRAINER_OVERRIDES  # noqa: E402
from trainers.lpclip import LinearProbeCLIP  # noqa: E402

CONFIGS = {**TRAINER_CONFIGS, "ZeroshotCLIP": ("CoOp", "vit_b16.yaml"),
           "LinearProbeCLIP": ("LinearProbeCLIP", "vit_b16.yaml")}
# MMRL and MMRL++ evaluate all classes of a base-to-new run with their class-token branch; few-shot evaluates with the
# fusion, the logits of their forward pass, which the probe compares evaluation with.
EVALUATES_LIKE_FORWARD = {"MMRL": ("TRAINER.MMRL.TASK", "FS"), "MMRLpp": ("TRAINER.MMRLPP.TASK", "FS")}


def _build(name: str, data_root: str, work: str, prec: str, cache_on: bool):
    cfg = get_cfg()
    cfg.merge_from_file(config("datasets", "synthetic.yaml"))
    cfg.merge_from_file(config("trainers", *CONFIGS[name]))
    cfg.merge_from_list([
        "DATASET.ROOT", data_root, "OUTPUT_DIR", os.path.join(work, "runs", name), "SEED", 1, "TRAINER.NAME", name,
        *TINY, *TRAINER_OVERRIDES.get(name, ()), *EVALUATES_LIKE_FORWARD.get(name, ()), "DATASET.NUM_SHOTS", 4, "TRAINER.COOP.PREC", prec,
        "DATALOADER.TEST.BATCH_SIZE", 5,  # several batches and a partial last one
        "TEST.FEATURE_CACHE.ENABLED", cache_on, "TEST.FEATURE_CACHE.DIR", os.path.join(work, "cache"),
    ])
    cfg.freeze()
    set_random_seed(cfg.SEED)  # as train.py does: both modes get the same initial prompt (CoCoOp's meta-net)
    trainer = build_trainer(cfg)
    if name == "LinearProbeCLIP":  # it evaluates a fitted probe: the same one, of random features, in both modes
        trainer.probe = _random_probe(trainer.num_classes, trainer.model.image_encoder.output_dim)
    return trainer


def _random_probe(classes: int, dim: int):
    from mopd.methods.linear_probe import fit_probe

    features = torch.randn(4 * classes, dim, generator=torch.Generator().manual_seed(0)).double().numpy()
    return fit_probe(features, [label % classes for label in range(4 * classes)], 1.0)[0]


def _evaluate(trainer) -> dict:
    """Run `trainer.test()` and record what went through the encoder, the loader and the evaluator."""
    logits, encoded, results, counts = [], [], {}, {"encoder_images": 0, "samples_read": 0}
    process, evaluate, encode = trainer.evaluator.process, trainer.evaluator.evaluate, trainer.encode_test_images

    def record_logits(output, label):
        logits.append(output.detach().cpu())
        process(output, label)

    def record_results():
        results.update(evaluate())
        return results

    def record_features(images):
        features = encode(images)
        encoded.append(features.detach().cpu())
        return features

    trainer.evaluator.process, trainer.evaluator.evaluate = record_logits, record_results
    trainer.encode_test_images = record_features
    trainer.model.image_encoder.register_forward_hook(
        lambda module, inputs, output: counts.__setitem__("encoder_images", counts["encoder_images"] + len(output)))
    wrapper = type(trainer.test_loader.dataset)
    read_sample = wrapper.__getitem__

    def counting_read(self, index):
        counts["samples_read"] += 1
        return read_sample(self, index)

    wrapper.__getitem__ = counting_read
    try:
        trainer.test()
    finally:
        wrapper.__getitem__ = read_sample
    evaluator, counted = trainer.evaluator, dict(counts)  # what test() did, before the forward pass below
    forward = []
    if not isinstance(trainer, LinearProbeCLIP):  # the forward pass of training, in eval mode, batch by batch
        trainer.set_model_mode("eval")
        with torch.no_grad(), trainer.precision.autocast():
            forward = [trainer.model(batch["img"].to(trainer.device)).logits.float().cpu() for batch in trainer.test_loader]
    return {
        "results": {name: float(value) for name, value in results.items()},
        "y_pred": [int(p) for p in evaluator._y_pred],
        "y_true": [int(t) for t in evaluator._y_true],
        "logits": torch.cat(logits).tolist(),
        "forward_logits": torch.cat(forward).tolist() if forward else [],
        "encoded_features": torch.cat(encoded).float().tolist() if encoded else [],
        "dtype": str(encoded[0].dtype) if encoded else "",
        **counted,
    }


def _stored_features(trainer) -> list | None:
    """The features the cache holds for the test split; None for a model whose image features are learned."""
    if not trainer.model.frozen_image_features:
        return None
    cache = trainer.eval_feature_cache
    features = cache.store.load(cache.key_of("test", trainer.test_loader))
    return [] if features is None else features.float().tolist()


def _trainers_off_then_on(registered: list[str], data_root: str, work: str, prec: str) -> dict:
    report: dict = {"trainers": {}}
    for name in registered:
        report["trainers"][name] = {"off": _evaluate(_build(name, data_root, work, prec, cache_on=False))}
    report["cache_folder_after_off"] = os.path.exists(os.path.join(work, "cache"))
    for name in registered:
        trainer = _build(name, data_root, work, prec, cache_on=True)
        report["trainers"][name]["on"] = {**_evaluate(trainer), "stored_features": _stored_features(trainer),
                                          "frozen_image_features": trainer.model.frozen_image_features}
    entries = FeatureStore(os.path.join(work, "cache")).entries()
    report["cached_backbones"] = sorted({entry.header["key"]["backbone"] for entry in entries if entry.header})
    return report


def main(data_root: str, work: str, *precisions: str) -> None:
    registered = sorted(n for n in TRAINER_REGISTRY._obj_map if TRAINER_REGISTRY.get(n).__module__.startswith("trainers."))
    assert registered == sorted(CONFIGS), (registered, sorted(CONFIGS))
    report = {"backend": BACKEND}
    for prec in precisions:
        report[prec] = _trainers_off_then_on(registered, data_root, os.path.join(work, prec), prec)
    print("PROBE " + json.dumps(report))


if __name__ == "__main__":
    main(*sys.argv[1:])
