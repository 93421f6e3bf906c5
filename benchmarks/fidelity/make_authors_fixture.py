r"""Write a checkpoint fixture of tests/fixtures/authors_checkpoints/ with the authors' own code.

    python benchmarks/fidelity/make_authors_fixture.py \
        --authors /path/to/multimodal-prompt-learning --dassl /path/to/Dassl.pytorch
    python benchmarks/fidelity/make_authors_fixture.py --method PromptSRC \
        --authors /path/to/PromptSRC --dassl /path/to/Dassl.pytorch
    python benchmarks/fidelity/make_authors_fixture.py --method MMRL \
        --authors /path/to/MMRL --dassl /path/to/Dassl.pytorch        (and --method MMRLpp)

The authors' train.py trains their method as published (their config file, their loaders, fp16) on this
repository's "tiny" CLIP and the synthetic dataset of the test suite (tests/conftest.py: 6 classes,
8/2/4 images each), base classes, then evaluates the checkpoint with --eval-only in fp32 on the base and
new classes. The checkpoint folder (`VLPromptLearner/`, MMRL's `MultiModalRepresentationLearner/`) goes to the fixture folder as it is, with
expected.json: how it was made and the accuracies their code reports, which the test asserts.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import torch

from mopd.clip.loading import load_clip
from mopd.data.synthetic import generate_synthetic_dataset

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(REPO, "tests", "fixtures", "authors_checkpoints")
# The smallest run that still has deep prompts in both towers of "tiny" (2 layers each); the rest as published.
_COMMON = {"prec": "fp16", "eval_prec": "fp32", "seed": 1, "epochs": 2, "num_shots": 4, "image_size": 32,
           "depths": {"PROMPT_DEPTH_VISION": 2, "PROMPT_DEPTH_TEXT": 2}}
SETTINGS = {
    "IVLP": {"method": "IVLP", **_COMMON},
    # GPA centred on the last of the 2 epochs, so that both epochs weigh (the published 15 is past the end)
    "PromptSRC": {"method": "PromptSRC", **_COMMON, "method_opts": {"GPA_MEAN": 2, "GPA_STD": 1}},
}
# MMRL's tokens enter at the first of its layers and replace the carried ones at the next (published: 6, then 7-12);
# REP_DIM 64 rather than 512 keeps the file small (their checkpoint holds the whole model and AdamW's moments).
# Trained in their published "amp", which their code runs as fp32 on a CPU.
_MMRL = {**_COMMON, "prec": "amp", "depths": {}, "method_opts": {"REP_LAYERS": [1, 2], "REP_DIM": 64}}
SETTINGS.update({"MMRL": {"method": "MMRL", **_MMRL}, "MMRLpp": {"method": "MMRLpp", **_MMRL}})
REPOSITORIES = {"IVLP": "muzairkhattak/multimodal-prompt-learning", "PromptSRC": "muzairkhattak/PromptSRC",
                "MMRL": "yunncheng/MMRL", "MMRLpp": "yunncheng/MMRL"}


def _commit(path: str) -> str:
    return subprocess.run(["git", "-C", path, "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--method", choices=sorted(SETTINGS), default="IVLP")
    parser.add_argument("--authors", required=True, help="clone of the method's repository (muzairkhattak/"
                        "multimodal-prompt-learning for IVLP, muzairkhattak/PromptSRC for PromptSRC, "
                        "yunncheng/MMRL for MMRL and MMRLpp)")
    parser.add_argument("--dassl", required=True, help="clone of KaiyangZhou/Dassl.pytorch")
    parser.add_argument("--out", default="", help="fixture folder (replaced; default: the method's, lower case)")
    args = parser.parse_args()
    settings = SETTINGS[args.method]
    out = args.out or os.path.join(FIXTURES, args.method.lower())
    with tempfile.TemporaryDirectory(prefix="authors_fixture-") as work:
        clip_file = os.path.join(work, "tiny.pt")
        torch.save(load_clip("tiny").state_dict(), clip_file)
        data_root = os.path.join(work, "data")
        generate_synthetic_dataset(data_root, num_classes=6, train_per_class=8, val_per_class=2, test_per_class=4)
        run = os.path.join(work, "authors_run")
        spec = {**settings, "drive": "as_published", "authors": os.path.abspath(args.authors),
                "dassl": os.path.abspath(args.dassl), "clip_file": clip_file, "data_root": data_root,
                "output_dir": run, "result_file": os.path.join(work, "result.pt")}
        with open(os.path.join(work, "spec.json"), "w", encoding="utf-8") as f:
            json.dump(spec, f)
        env = {**os.environ, "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1", "PYTHONDONTWRITEBYTECODE": "1"}
        proc = subprocess.run([sys.executable, os.path.join(HERE, "authors_side.py"), os.path.join(work, "spec.json")],
                              env=env, capture_output=True, text=True)
        if proc.returncode:
            sys.exit(f"the authors' run failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        result = torch.load(spec["result_file"], weights_only=False)
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(os.path.join(run, result["model_folder"]), os.path.join(out, result["model_folder"]))
    expected = {
        "made_by": {"authors": f"{REPOSITORIES[args.method]}@{_commit(args.authors)}",
                    "dassl": f"KaiyangZhou/Dassl.pytorch@{_commit(args.dassl)}", "torch": torch.__version__,
                    "command": f"python benchmarks/fidelity/make_authors_fixture.py --method {args.method} "
                               "--authors ... --dassl ..."},
        "settings": settings,
        "checkpoint": os.path.join(result["model_folder"], f"model.pth.tar-{settings['epochs']}"),
        "authors_evaluation": result["evaluations"],
    }
    with open(os.path.join(out, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    print(json.dumps(expected, indent=1))


if __name__ == "__main__":
    main()
