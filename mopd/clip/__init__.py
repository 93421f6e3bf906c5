"""CLIP for this repository: the backbone table, model loading and the truncating text encoder."""
from mopd.clip.backbones import BACKBONES, TINY, TINY_DEEP, Backbone, ClipArchitecture, get_backbone
from mopd.clip.loading import architecture_of, build_clip, build_random_clip, load_clip
from mopd.clip.text_encoder import TextEncoder, count_tokens, encode_text_chunked, plan_buckets

__all__ = [
    "BACKBONES",
    "TINY",
    "TINY_DEEP",
    "Backbone",
    "ClipArchitecture",
    "TextEncoder",
    "architecture_of",
    "build_clip",
    "build_random_clip",
    "count_tokens",
    "encode_text_chunked",
    "get_backbone",
    "load_clip",
    "plan_buckets",
]
