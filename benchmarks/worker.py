"""Measure one benchmark case on its paths: build, warm up, time a training step and an evaluation."""
from __future__ import annotations

import copy
import gc
import logging
import os
from dataclasses import dataclass
from multiprocessing.connection import Connection

import torch
from torch import nn

from classnames import benchmark_classnames
from measure import PeakMemory, count_text_tokens, stopwatch
from mopd.clip.precision import PrecisionPolicy
from setups import MethodSettings, MethodSetup, TokenFigures, build_setup, evaluate, train_step, training_prompt_tokens


@dataclass(frozen=True)
class Job:
    """One case at one precision on the paths it lists: everything a worker needs, picklable."""

    method: str
    classes: int
    precision: str
    device: str
    train_paths: tuple[str, ...]
    eval_paths: tuple[str, ...]
    train_batch: int
    test_images: int
    test_batch: int
    warmup_steps: int
    timed_steps: int
    threads: int
    random_teacher_bank: bool = False
    clip_file: str = ""  # the prepared CLIP, saved by the parent for worker processes
    logits_dir: str = ""  # where each path's evaluation logits are saved for the comparison
    seed: int = 0

    @property
    def paths(self) -> list[str]:
        """The paths to run, naive first (in one process, what it leaves behind can only inflate ours)."""
        return [path for path in ("naive", "ours") if path in self.train_paths or path in self.eval_paths]


def run_job(job: Job, clips: tuple[nn.Module, nn.Module] | None = None) -> dict[str, dict]:
    """Measure every path of the job; `clips` is (CPU CLIP, device CLIP), else loaded from `job.clip_file`."""
    torch.set_num_threads(job.threads)
    device = torch.device(job.device)
    cpu_clip, device_clip = clips if clips is not None else _load_saved_clip(job.clip_file, device)
    results = {}
    for path in job.paths:
        results[path] = _run_path(job, path, cpu_clip, device_clip, device)
        gc.collect()
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return results


def worker_entry(job: Job, sender: Connection) -> None:
    """Entry of a worker process: run the job, send the results back."""
    logging.getLogger().setLevel(logging.WARNING)
    # A case that outgrows the machine's memory must be the process the kernel stops, not a neighbour.
    with open("/proc/self/oom_score_adj", "w") as oom_score:
        oom_score.write("1000")
    sender.send(run_job(job))
    sender.close()


def _run_path(job: Job, path: str, cpu_clip: nn.Module, device_clip: nn.Module, device: torch.device) -> dict:
    precision = PrecisionPolicy(job.precision, device)
    classnames = benchmark_classnames(job.classes)
    setup = build_setup(job.method, path, cpu_clip, device_clip, classnames, precision, MethodSettings(),
                        job.seed, job.random_teacher_bank)
    result: dict = {}
    if setup.text_build is not None:
        result["text_build_s"], result["text_build_cpu_s"] = setup.text_build.wall_s, setup.text_build.cpu_s
        result["text_build_tokens"] = setup.text_build_tokens.as_dict()
    resolution = device_clip.visual.input_resolution
    generator = torch.Generator().manual_seed(job.seed)
    _warm_up(setup, resolution, device)
    if path in job.train_paths:
        result.update(_measure_training(setup, job, resolution, generator, device))
    if path in job.eval_paths:
        result.update(_measure_evaluation(setup, job, path, resolution, generator, device))
    return result


def _measure_training(setup: MethodSetup, job: Job, resolution: int, generator: torch.Generator,
                      device: torch.device) -> dict:
    images = torch.randn(job.train_batch, 3, resolution, resolution, generator=generator).to(device)
    labels = torch.randint(job.classes, (job.train_batch,), generator=generator).to(device)
    initial = copy.deepcopy(setup.model.prompt_learner.state_dict())
    for _ in range(job.warmup_steps):
        train_step(setup, images, labels)
    transformer = setup.model.text_encoder.transformer
    with PeakMemory(device) as memory, count_text_tokens(transformer) as tally, stopwatch(device) as elapsed:
        for _ in range(job.timed_steps):
            train_step(setup, images, labels)
    setup.model.prompt_learner.load_state_dict(initial)  # evaluation starts from the same prompt on both paths
    tokens = TokenFigures(
        tally.processed // job.timed_steps,
        training_prompt_tokens(setup, job.train_batch),
        _full_tokens(setup, job.train_batch),
    )
    return {
        "train_step_s": elapsed.wall_s / job.timed_steps,
        "train_step_cpu_s": elapsed.cpu_s / job.timed_steps,
        "train_peak_mem_mb": round(memory.peak_mb, 1),
        "train_tokens": tokens.as_dict(),
    }


def _measure_evaluation(setup: MethodSetup, job: Job, path: str, resolution: int, generator: torch.Generator,
                        device: torch.device) -> dict:
    images = torch.randn(job.test_images, 3, resolution, resolution, generator=generator).to(device)
    batches = list(images.split(job.test_batch))
    with count_text_tokens(setup.model.text_encoder.transformer) as tally, stopwatch(device) as elapsed:
        logits = evaluate(setup, batches)
    if job.logits_dir:
        torch.save(logits.cpu(), os.path.join(job.logits_dir, f"{path}.pt"))
    return {"eval_s": elapsed.wall_s, "eval_cpu_s": elapsed.cpu_s, "eval_text_tokens": tally.processed}


def _full_tokens(setup: MethodSetup, num_images: int) -> int:
    tokenized = setup.model.prompt_learner.tokenized_prompts
    return tokenized.numel() * (num_images if setup.method == "CoCoOp" else 1)


def _warm_up(setup: MethodSetup, resolution: int, device: torch.device) -> None:
    """First calls of the image and text towers and of autograd, outside the timings."""
    model = setup.model
    image = torch.zeros(1, 3, resolution, resolution, device=device)
    tokens = model.prompt_learner.tokenized_prompts[:2]
    with setup.precision.autocast():
        model.encode_image(image)
        prompts = model.text_encoder.token_embedding(tokens).detach().requires_grad_()
        model.text_encoder(prompts, tokens).float().sum().backward()


def _load_saved_clip(clip_file: str, device: torch.device) -> tuple[nn.Module, nn.Module]:
    cpu_clip = torch.load(clip_file, weights_only=False)  # written by this benchmark's parent process
    return cpu_clip, device_copy(cpu_clip, device)


def device_copy(cpu_clip: nn.Module, device: torch.device) -> nn.Module:
    """The CLIP the computation runs on: `cpu_clip` itself on the CPU, else a copy moved to `device`."""
    return cpu_clip if device.type == "cpu" else copy.deepcopy(cpu_clip).to(device)
