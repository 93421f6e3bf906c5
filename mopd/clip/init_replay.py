"""The random draws of building a CLIP, replayed, so that prompts drawn after (or inside) it match the authors'.

The authors of MaPLe, IVLP and PromptSRC build CLIP with its random initialisation (then load the
weights over it) under the run's seed, and draw their prompts from the generator that build leaves
behind; IVLP and PromptSRC even draw theirs while the towers are built, layer by layer. This
repository loads CLIP without touching the generator, so these methods replay the same sequence of
draws: the modules are created in CLIP's order, with their own initialisation, and thrown away;
`draw(tower, layer)` is called where the authors create a prompt (or MMRL its second image
projection). The cost is one random CLIP initialisation (about a second for ViT-B/16 on a CPU);
nothing is kept.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from clip.model import ResidualAttentionBlock
from torch import nn

from mopd.clip.backbones import ClipArchitecture

# draw(tower, layer): called after the vision stem ("vision", -1: before the class embedding), after
# each block of each tower ("vision"/"text", layer) and after the image projection ("vision", vision
# layers: MMRL's CLIP draws its `proj_rep` there); it draws what the authors draw there.
Draw = Callable[[str, int], None]


def _nothing(tower: str, layer: int) -> None:
    """No prompt is drawn inside the towers (MaPLe): only CLIP's own draws are replayed."""


@torch.no_grad()
def replay_clip_initialisation(arch: ClipArchitecture, draw: Draw = _nothing) -> None:
    """Consume the global torch generator as `clip.model.CLIP(**arch)` does, calling `draw` where prompts are made.

    Only ViT backbones: the prompted towers exist for them alone. Each module is dropped as soon as
    it is made, and what CLIP initialises twice (the token embedding, the text blocks' weights) is
    drawn again into empty tensors of the same shapes, which consumes the generator the same way.
    """
    if not isinstance(arch.vision_layers, int):
        raise ValueError("prompts in the image tower need a ViT backbone; this one is a ResNet")
    width = arch.vision_width
    nn.Conv2d(3, width, kernel_size=arch.vision_patch_size, stride=arch.vision_patch_size, bias=False)
    draw("vision", -1)
    torch.randn(width)  # class embedding
    torch.randn((arch.image_resolution // arch.vision_patch_size) ** 2 + 1, width)  # positional embedding
    for layer in range(arch.vision_layers):
        ResidualAttentionBlock(width, width // 64)
        draw("vision", layer)
    torch.randn(width, arch.embed_dim)  # proj
    draw("vision", arch.vision_layers)
    text = arch.transformer_width
    for layer in range(arch.transformer_layers):
        ResidualAttentionBlock(text, arch.transformer_heads)
        draw("text", layer)
    nn.Embedding(arch.vocab_size, text)
    # CLIP.initialize_parameters: the text side is drawn again
    nn.init.normal_(torch.empty(arch.vocab_size, text), std=0.02)  # token embedding
    nn.init.normal_(torch.empty(arch.context_length, text), std=0.01)  # positional embedding
    proj_std, attn_std, fc_std = text ** -0.5 * (2 * arch.transformer_layers) ** -0.5, text ** -0.5, (2 * text) ** -0.5
    for _ in range(arch.transformer_layers):
        nn.init.normal_(torch.empty(3 * text, text), std=attn_std)  # attn.in_proj_weight
        nn.init.normal_(torch.empty(text, text), std=proj_std)  # attn.out_proj.weight
        nn.init.normal_(torch.empty(4 * text, text), std=fc_std)  # mlp.c_fc.weight
        nn.init.normal_(torch.empty(text, 4 * text), std=proj_std)  # mlp.c_proj.weight
    nn.init.normal_(torch.empty(text, arch.embed_dim), std=text ** -0.5)  # text projection
