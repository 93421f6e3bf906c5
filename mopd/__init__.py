"""MoPD: Mixture-of-Prompts Distillation for vision-language models (library part)."""

import warnings

__version__ = "0.1.0"

# clip-anytorch imports pkg_resources, which warns on every start; the pin setuptools<81 keeps it working.
warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
