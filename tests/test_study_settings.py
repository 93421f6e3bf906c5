"""The one settings table and the jobs expanded from it: configs per dataset and shot count, run folders,
overrides the layout encodes, and how steps group into jobs (no training here)."""
from __future__ import annotations

import os
import re

import pytest

import train
from mopd.cli.config import build_cfg
from mopd.config.defaults import get_cfg
from mopd.results.layout import find_runs
from mopd.study.cli import split_argv
from mopd.study.jobs import Selection, plan_jobs
from mopd.study.settings import FEW_SHOT_SHOTS, METHODS, PROTOCOL_DATASETS, TRANSFER_SOURCE, get_method
from mopd.study.steps import Scope, base2new_test, base2new_train, fewshot_train, transfer_test, transfer_train


def _cfg(step):
    """The merged config train.py would run the step with."""
    return build_cfg(train.parse_args(step.train_py_args(planned=True)))


def _scope(method: str, tmp_path, *overrides: str, cfg: str = "") -> Scope:
    return Scope(get_method(method), str(tmp_path / "data"), str(tmp_path / "out"), cfg, tuple(overrides))


@pytest.mark.parametrize("name", list(METHODS))
def test_every_method_has_a_config_for_every_protocol_dataset_and_shot_count(name, tmp_path):
    selection = Selection((name,), tuple(PROTOCOL_DATASETS), (1,), str(tmp_path / "data"), str(tmp_path / "out"),
                          shots=None)
    jobs = plan_jobs(selection)
    for job in jobs:
        for step in job.steps:
            assert all(os.path.isfile(f) for f in step.config_files)
            assert step.trainer == METHODS[name].trainer
    assert len({job.id for job in jobs}) == len(jobs)  # two jobs never share a run folder


def test_coop_base2new_uses_cocoop_protocol_200_epochs_batch_32_and_50_on_imagenet(tmp_path):
    scope = _scope("coop", tmp_path)
    caltech = base2new_train(scope, "caltech101", 1, 16)
    imagenet = base2new_train(scope, "imagenet", 1, 16)
    assert os.path.basename(caltech.config_files[0]) == "vit_b16_ctxv1.yaml"
    assert os.path.basename(imagenet.config_files[0]) == "vit_b16_ep50_ctxv1.yaml"
    for step, epochs in ((caltech, 200), (imagenet, 50)):
        cfg = _cfg(step)
        assert (cfg.OPTIM.MAX_EPOCH, cfg.DATALOADER.TRAIN_X.BATCH_SIZE) == (epochs, 32)
        assert cfg.TRAINER.COOP.CTX_INIT == "a photo of a"
    # one setting, one table row: both run folders carry the setting's name
    assert "/CoOp/vit_b16_ctxv1/seed1" in caltech.path and "/CoOp/vit_b16_ctxv1/seed1" in imagenet.path
    # the evaluation on the new classes loads the model with its training's configs
    assert base2new_test(scope, "imagenet", 1, 16).config_files == imagenet.config_files


@pytest.mark.parametrize("shots, epochs", [(1, 50), (2, 100), (4, 100), (8, 200), (16, 200)])
def test_coop_few_shot_epochs_follow_the_shot_count_except_imagenet(shots, epochs, tmp_path):
    scope = _scope("coop", tmp_path)
    cfg = _cfg(fewshot_train(scope, "oxford_pets", 1, shots))
    assert cfg.OPTIM.MAX_EPOCH == epochs
    assert (cfg.TRAINER.COOP.N_CTX, cfg.TRAINER.COOP.CTX_INIT, cfg.TRAINER.COOP.CLASS_TOKEN_POSITION) == (16, "", "end")
    assert _cfg(fewshot_train(scope, "imagenet", 1, shots)).OPTIM.MAX_EPOCH == 50


def test_cfg_replaces_the_setting_everywhere_and_names_the_folder(tmp_path):
    scope = _scope("coop", tmp_path, cfg="vit_b16_ep100_ctxv1")
    step = base2new_train(scope, "imagenet", 2, 16)
    assert _cfg(step).OPTIM.MAX_EPOCH == 100
    assert step.path.endswith(os.path.join("imagenet", "shots_16", "CoOp", "vit_b16_ep100_ctxv1", "seed2"))
    with pytest.raises(FileNotFoundError, match="set CFG to one of: .*vit_b16_ctxv1"):
        base2new_train(_scope("coop", tmp_path, cfg="vit_b16_ep7"), "imagenet", 1, 16)


def test_mopd_applies_its_published_per_dataset_setting(tmp_path):
    cfg = _cfg(base2new_train(_scope("mopd", tmp_path), "caltech101", 1, 16))
    assert (cfg.OPTIM.MAX_EPOCH, cfg.TRAINER.MOPD.TOP_K, cfg.TRAINER.MOPD.W) == (100, 3, 0.8)


def _training_step(method: str, protocol: str, dataset: str, tmp_path):
    """The training step of `method` on `dataset` in `protocol` (seed 1; 16 shots, few-shot 4)."""
    scope = _scope(method, tmp_path)
    if protocol == "base2new":
        return base2new_train(scope, dataset, 1, 16)
    if protocol == "few_shot":
        return fewshot_train(scope, dataset, 1, 4)
    return transfer_train(scope, 1, 16)


@pytest.mark.parametrize("method, protocol, dataset, config, expected", [
    ("mmrl", "base2new", "eurosat", "vit_b16", {"TASK": "B2N", "REG_WEIGHT": 0.01, "REP_DIM": 2048}),
    ("mmrl", "base2new", "imagenet", "vit_b16_imagenet", {"TASK": "B2N", "REG_WEIGHT": 0.5, "REP_DIM": 512}),
    ("mmrl", "few_shot", "dtd", "vit_b16_few_shot", {"TASK": "FS", "REG_WEIGHT": 6.0, "REP_DIM": 512}),
    ("mmrl", "few_shot", "imagenet", "vit_b16_imagenet", {"TASK": "FS", "REG_WEIGHT": 0.5, "REP_DIM": 512}),
    ("mmrl", "cross_dataset", "imagenet", "vit_b16_cross_datasets", {"TASK": "CD", "REG_WEIGHT": 0.2, "REP_DIM": 512}),
    ("mmrlpp", "base2new", "food101", "vit_b16", {"TASK": "B2N", "BETA": 0.1, "REG_WEIGHT": 1.0}),
    ("mmrlpp", "base2new", "imagenet", "vit_b16_imagenet", {"TASK": "B2N", "BETA": 0.9, "REG_WEIGHT": 0.2}),
    ("mmrlpp", "few_shot", "eurosat", "vit_b16_few_shot", {"TASK": "FS", "BETA": 0.2, "REG_WEIGHT": 0.01}),
    ("mmrlpp", "cross_dataset", "imagenet", "vit_b16_cross_datasets", {"TASK": "CD", "BETA": 0.9, "REG_WEIGHT": 0.1}),
])
def test_mmrl_and_mmrlpp_train_with_the_authors_scripts_task_config_and_per_dataset_values(method, protocol, dataset,
                                                                                        config, expected, tmp_path):
    step = _training_step(method, protocol, dataset, tmp_path)
    assert os.path.basename(step.config_files[0]) == f"{config}.yaml"
    node = _cfg(step).TRAINER[method.upper()]
    assert {key: node[key] for key in expected} == expected


def test_mmrl_evaluations_pass_their_protocols_task_after_the_models_configs(tmp_path):
    scope = _scope("mmrl", tmp_path, "TRAINER.MMRL.REG_WEIGHT", "9.0")
    new = base2new_test(scope, "eurosat", 1, 16)
    assert new.config_files == base2new_train(scope, "eurosat", 1, 16).config_files
    assert new.opts[-4:] == ("TRAINER.MMRL.TASK", "B2N", "TRAINER.MMRL.REG_WEIGHT", "9.0")  # the user's come last
    for protocol, dataset in (("cross_dataset", "eurosat"), ("domain_generalization", "imagenet_a")):
        test = transfer_test(_scope("mmrl", tmp_path), protocol, dataset, 1, 16)
        assert test.config_files == transfer_train(_scope("mmrl", tmp_path), 1, 16).config_files
        assert test.opts == ("TRAINER.MMRL.TASK", "CD", "TRAINER.MMRL.REG_WEIGHT", "0.2", "TRAINER.MMRL.REP_DIM", "512")


def test_mmrlpp_evaluates_the_imagenet_model_with_each_targets_beta_and_base2new_with_the_trainings(tmp_path):
    scope = _scope("mmrlpp", tmp_path, "TRAINER.MMRLPP.REG_WEIGHT", "9.0")
    train_files = transfer_train(scope, 1, 16).config_files
    for protocol, dataset, beta in (("cross_dataset", "food101", 0.3), ("cross_dataset", "dtd", 0.5),
                                    ("domain_generalization", "imagenet_sketch", 0.7)):
        test = transfer_test(scope, protocol, dataset, 1, 16)
        assert test.config_files[:len(train_files)] == train_files  # the model's files, then the target's BETA
        assert os.path.basename(test.config_files[-1]) == f"{dataset}.yaml" and len(test.config_files) == 3
        cfg = get_cfg()  # the test's config files and overrides in train.py's order (its model is not trained here)
        for file in test.config_files:
            cfg.merge_from_file(file)
        cfg.merge_from_list(list(test.opts))
        node = cfg.TRAINER.MMRLPP
        assert (node.TASK, node.BETA, node.REG_WEIGHT) == ("CD", beta, 9.0)  # the user's overrides still come last
    assert base2new_test(scope, "food101", 1, 16).config_files == base2new_train(scope, "food101", 1, 16).config_files


def test_num_shots_override_moves_the_run_folder_and_the_table_reads_it(tmp_path):
    step = base2new_train(_scope("mopd", tmp_path, "DATASET.NUM_SHOTS", "4"), "synthetic", 1, 16)
    assert step.shots == 4 and _cfg(step).DATASET.NUM_SHOTS == 4
    assert f"{os.sep}shots_4{os.sep}" in step.path
    os.makedirs(step.path)
    assert [run.shots for run in find_runs(str(tmp_path / "out")).runs] == [4]


@pytest.mark.parametrize("key, where", [("SEED", "SEED argument"), ("DATASET.NAME", "DATASET argument"),
                                        ("DATASET.SUBSAMPLE_CLASSES", "base2new_train.sh trains on base"),
                                        ("OUTPUT_DIR", "$OUTPUT")])
def test_overrides_of_what_the_folder_encodes_are_refused_with_the_argument_to_use(key, where, tmp_path):
    with pytest.raises(ValueError, match=f"{key} cannot be overridden here.*{re.escape(where)}"):
        base2new_train(_scope("coop", tmp_path, key, "3"), "synthetic", 1, 16)


def test_zero_shot_evaluates_instead_of_training(tmp_path):
    scope = _scope("zsclip", tmp_path)
    first, second = base2new_train(scope, "caltech101", 1, 16), base2new_test(scope, "caltech101", 1, 16)
    assert (first.phase, first.trains, second.model_dir) == ("test_base", False, "")
    assert "--eval-only" in first.train_py_args()
    with pytest.raises(ValueError, match="few_shot needs a trained method"):
        fewshot_train(scope, "caltech101", 1, 16)


def test_transfer_protocols_share_one_imagenet_job_per_seed(tmp_path):
    selection = Selection(("kgcoop", "zsclip"), ("cross_dataset", "domain_generalization", "few_shot"), (1, 2),
                          str(tmp_path / "data"), str(tmp_path / "out"), shots=(16,))
    jobs = plan_jobs(selection)
    transfer = [job for job in jobs if job.protocol == "cross_dataset+domain_generalization"]
    assert len(transfer) == 4  # 2 methods x 2 seeds
    kgcoop = next(job for job in transfer if job.method == "kgcoop" and job.seed == 1)
    assert kgcoop.dataset == TRANSFER_SOURCE and kgcoop.steps[0].trains
    targets = [step.dataset for step in kgcoop.steps[1:]]
    assert targets == list(PROTOCOL_DATASETS["cross_dataset"]) + list(PROTOCOL_DATASETS["domain_generalization"])
    assert {step.model_dir for step in kgcoop.steps[1:]} == {kgcoop.steps[0].path}
    few_shot = [job for job in jobs if job.protocol == "few_shot"]
    assert {job.method for job in few_shot} == {"kgcoop"}  # zero-shot CLIP learns nothing
    assert transfer_test(_scope("kgcoop", tmp_path), "cross_dataset", "dtd", 1, 16).model_dir == kgcoop.steps[0].path


def test_few_shot_default_shot_counts_and_unknown_names(tmp_path):
    selection = Selection(("coop",), ("few_shot",), (1,), "d", str(tmp_path), datasets=("dtd",))
    assert [job.shots for job in plan_jobs(selection)] == list(FEW_SHOT_SHOTS)
    with pytest.raises(ValueError, match="unknown method 'cop' \\(did you mean 'coop'\\?\\)"):
        plan_jobs(Selection(("cop",), ("base2new",), (1,), "d", str(tmp_path)))
    with pytest.raises(ValueError, match="unknown dataset 'caltech'.*caltech101"):
        plan_jobs(Selection(("coop",), ("base2new",), (1,), "d", str(tmp_path), datasets=("caltech",)))


def test_overrides_split_from_the_options():
    argv = ["--methods", "coop", "mopd", "--seeds", "1", "MODEL.BACKBONE.NAME", "tiny", "OPTIM.MAX_EPOCH", "2"]
    assert split_argv(argv) == (argv[:5], argv[5:])
    assert split_argv(["--methods", "coop", "--", "USE_CUDA", "False"]) == (["--methods", "coop"], ["USE_CUDA", "False"])


def test_an_evaluation_needs_its_models_training_to_have_finished(tmp_path):
    scope = _scope("coop", tmp_path)
    train_step, test_step = base2new_train(scope, "synthetic", 1, 16), base2new_test(scope, "synthetic", 1, 16)
    os.makedirs(os.path.join(train_step.path, "prompt_learner"))
    open(os.path.join(train_step.path, "prompt_learner", "model.pth.tar-3"), "w").close()  # a crashed run
    with pytest.raises(FileNotFoundError, match="has not finished: run \\(or resume\\) the matching training"):
        test_step.train_py_args()
    planned = test_step.train_py_args(planned=True)
    at = planned.index("--model-dir")
    assert planned[at:at + 4] == ["--model-dir", train_step.path, "--load-epoch", "LAST"]
    open(os.path.join(train_step.path, "run_finished.json"), "w").close()
    args = test_step.train_py_args()
    assert args[args.index("--load-epoch") + 1] == "3"  # the last checkpoint


def test_every_step_of_a_study_shares_the_feature_cache_under_its_output_root_unless_overridden(tmp_path):
    steps = (base2new_train(_scope("coop", tmp_path), "synthetic", 1, 16),
             base2new_train(_scope("mopd", tmp_path), "caltech101", 2, 16))
    for step in steps:
        args = step.train_py_args()
        assert args[args.index("TEST.FEATURE_CACHE.DIR") + 1] == str(tmp_path / "out" / "feature_cache")
    moved = base2new_train(_scope("coop", tmp_path, "TEST.FEATURE_CACHE.DIR", "/elsewhere"), "synthetic", 1, 16)
    assert moved.train_py_args()[-2:] == ["TEST.FEATURE_CACHE.DIR", "/elsewhere"]  # the user's override comes last
