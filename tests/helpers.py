"""Shared test helpers (tests never import each other)."""

from __future__ import annotations

import torch

# table-to-text sources for decoding tests
SOURCES = [
    "name : Aromi | Type : coffee shop",
    "name : Bibimbap House | food : Chinese | area : riverside | near : Clare Hall",
    "name : X",
]
LIMITS = (256, 128)  # TrainConfig's default max source / target tokens, for layout.encode_pair


def reference_greedy(adapted, loaded, prompt: list[int], max_new: int) -> list[int]:
    """No cache reuse: every step is a full forward of prompt + generated tokens."""
    tokens = list(prompt)
    out = []
    for _ in range(max_new):
        x = torch.tensor([tokens])
        with torch.no_grad():
            logits = adapted(x, torch.ones_like(x))[0, -1].clone()
        logits[loaded.banned_ids] = -float("inf")
        nxt = int(logits.argmax())
        if nxt == loaded.eos_id:
            break
        out.append(nxt)
        tokens.append(nxt)
    return out
