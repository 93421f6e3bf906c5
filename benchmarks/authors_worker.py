"""One side of a comparison with the authors' code in a fresh process: build, train a few steps, evaluate.

    python benchmarks/authors_worker.py JOB_DIR      # reads JOB_DIR/job.json, writes result.json, logits.pt, prompts.pt

`bench_against_authors.py` starts one such process per side and precision, so that each side's
resident memory is its own. This module imports only the standard library, torch and `measure`:
the side's code is imported in `build_side`, so the authors' `clip` and `trainers` packages (put
first on sys.path in their process) never meet this repository's.
"""
from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass
from typing import Protocol

import torch
from torch import Tensor

from measure import MB, PeakMemory, current_rss_bytes, stopwatch

SIDES: tuple[str, ...] = ("authors", "ours")


@dataclass(frozen=True)
class Job:
    """Everything one side needs: the shared weights and images, the MaPLe setting, what to measure."""

    side: str  # "authors" or "ours"
    method: str  # "MaPLe" or "PromptSRC"
    precision: str  # "fp16" (as published) or "fp32"
    backbone: str  # CLIP architecture name ("ViT-B/16"; "tiny12" for the smoke preset)
    weights_file: str  # CLIP state_dict written by the parent, loaded by both sides
    train_file: str  # {"images": (B, 3, R, R), "labels": (B,)}
    test_file: str  # {"images": (N, 3, R, R)}
    classnames: tuple[str, ...]
    n_ctx: int  # context tokens (PromptSRC: of each tower)
    ctx_init: str
    depth: int  # prompt depth (PromptSRC: of each tower)
    lr: float
    seed: int
    warmup_steps: int
    timed_steps: int
    test_batch: int
    threads: int
    authors: str = ""  # clone of the method's repository (authors side only)
    dassl: str = ""  # clone of KaiyangZhou/Dassl.pytorch (authors side only)

    def save(self, job_dir: str) -> None:
        """Write the job as job.json in `job_dir`."""
        with open(os.path.join(job_dir, "job.json"), "w") as file:
            json.dump(asdict(self), file)

    @classmethod
    def load(cls, job_dir: str) -> Job:
        """Read job.json from `job_dir`."""
        with open(os.path.join(job_dir, "job.json")) as file:
            fields = json.load(file)
        return cls(**{**fields, "classnames": tuple(fields["classnames"])})


class Side(Protocol):
    """A built model with its optimizer, driven as its trainer drives it."""

    def step(self, images: Tensor, labels: Tensor) -> float:
        """One training step (forward, loss, backward, optimizer step); returns the loss."""

    def logits(self, batches: list[Tensor]) -> Tensor:
        """(N, C) fp32 logits of the test batches, as the trainer's test() computes them."""

    def prompt_parameters(self) -> dict[str, Tensor]:
        """The learned parameters, under this repository's names (MaPLe's are the authors')."""


def build_side(job: Job) -> Side:
    """Build the job's side; the seed is set first, as train.py sets it before building the trainer."""
    torch.manual_seed(job.seed)
    if job.side == "authors":
        from theirs import build_authors_trainer

        return build_authors_trainer(job)
    from ours import build_our_trainer

    return build_our_trainer(job)


def run(job: Job, job_dir: str) -> dict:
    """Measure the job's side; logits and learned prompts are saved in `job_dir` for the comparison."""
    torch.set_num_threads(job.threads)
    cpu = torch.device("cpu")
    with stopwatch(cpu) as build:
        side = build_side(job)
    train = torch.load(job.train_file)
    images, labels = train["images"], train["labels"]
    initial = {name: param.detach().clone() for name, param in side.prompt_parameters().items()}
    losses = [side.step(images, labels) for _ in range(job.warmup_steps)]
    rss_before = current_rss_bytes()
    with PeakMemory(cpu) as memory, stopwatch(cpu) as elapsed:
        for _ in range(job.timed_steps):
            losses.append(side.step(images, labels))
    torch.save({name: param.detach().float() for name, param in side.prompt_parameters().items()},
               os.path.join(job_dir, "prompts.pt"))
    _restore(side, initial)  # evaluation starts from the initial prompts on both sides
    del train, images, labels
    test_images = torch.load(job.test_file)["images"]
    with stopwatch(cpu) as evaluation:
        logits = side.logits(list(test_images.split(job.test_batch)))
    torch.save(logits, os.path.join(job_dir, "logits.pt"))
    return {
        "build_s": build.wall_s,
        "train_step_s": elapsed.wall_s / job.timed_steps,
        "train_step_cpu_s": elapsed.cpu_s / job.timed_steps,
        "rss_before_step_mb": round(rss_before / MB, 1),
        "train_peak_rss_mb": round(memory.peak_mb, 1),
        "losses": losses,
        "eval_s": evaluation.wall_s,
        "eval_cpu_s": evaluation.cpu_s,
    }


@torch.no_grad()
def _restore(side: Side, values: dict[str, Tensor]) -> None:
    for name, param in side.prompt_parameters().items():
        param.copy_(values[name])


def main(job_dir: str) -> None:
    """Run the job in `job_dir` and write result.json there."""
    # A side that outgrows the machine's memory must be the process the kernel stops, not a neighbour.
    with open("/proc/self/oom_score_adj", "w") as oom_score:
        oom_score.write("1000")
    job = Job.load(job_dir)
    result = run(job, job_dir)
    with open(os.path.join(job_dir, "result.json"), "w") as file:
        json.dump(result, file)


if __name__ == "__main__":
    main(sys.argv[1])
