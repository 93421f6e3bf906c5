"""Install the `mopd` library (trainers/ and datasets/ are used from the checkout)."""
from setuptools import find_packages, setup

setup(
    name="mopd",
    version="0.1.0",
    description="MoPD: Mixture-of-Prompts Distillation for vision-language models, with CoOp-family baselines",
    python_requires=">=3.10",
    packages=find_packages(include=["mopd", "mopd.*"]),
    package_data={"mopd.results": ["published.csv"]},  # the published numbers of `--published`
    install_requires=[
        "torch>=2.1",
        "torchvision",
        "clip-anytorch>=2.6",
        "setuptools<81",  # clip imports pkg_resources, removed in setuptools 81
        "yacs",
        "ftfy",
        "regex",
        "tqdm",
        "gdown",
        "tensorboard",
        "matplotlib",
        "Pillow",
        "numpy",
        "submitit",  # the study's executors: SLURM job arrays and a local pool
        "scikit-learn",  # the linear probe's logistic regression (LinearProbeCLIP, as CoOp's lpclip/)
    ],
    extras_require={"test": ["pytest", "import-linter"]},  # import-linter: the layer contracts (.importlinter)
)
