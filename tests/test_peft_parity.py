"""Cross-check against PEFT: given the same per-layer key/value prefix, our prefix path and PEFT's
`PrefixTuning` give the same forward logits (forward only: PEFT 0.21.2's `generate` drops the prefix
on transformers 5.x, which is why the suite has its own decoder)."""

from __future__ import annotations

import copy

import pytest
import torch

peft = pytest.importorskip("peft", reason="peft is a test dependency (pip install -e .[test])")

from benchmark.layout import collate, encode_pair  # noqa: E402
from benchmark.methods.prefix import PrefixConfig, PrefixTuned  # noqa: E402

from .helpers import LIMITS  # noqa: E402


def test_same_prefix_same_logits_as_peft(tiny):
    torch.manual_seed(0)
    ours = PrefixTuned(tiny, PrefixConfig(prefix_len=4, reparam="flat"))
    ours.finalize()
    ours.eval()

    peft_model = peft.get_peft_model(
        copy.deepcopy(tiny.model),
        peft.PrefixTuningConfig(
            task_type="CAUSAL_LM", num_virtual_tokens=4, prefix_projection=False
        ),
    )
    encoder = peft_model.prompt_encoder["default"].embedding
    assert encoder.weight.shape == ours.ejected.shape  # GQA: 2*L*n_kv*head_dim, same layout (R2)
    with torch.no_grad():
        encoder.weight.copy_(ours.ejected)
    peft_model.eval()

    pairs = [
        encode_pair(tiny, "name : Aromi | Type : coffee shop", "Aromi is a coffee shop.", *LIMITS),
        encode_pair(tiny, "name : X", "X.", *LIMITS),
    ]
    ids, mask, _ = collate(pairs, tiny.pad_id)  # right padding: row 2 is padded
    with torch.no_grad():
        theirs = peft_model(input_ids=ids, attention_mask=mask).logits
        mine = ours(ids, mask)
    real = mask.bool()
    assert torch.allclose(mine[real], theirs[real], atol=1e-5)
    bare = tiny.model(input_ids=ids, attention_mask=mask).logits
    assert not torch.allclose(mine[real], bare[real], atol=1e-3)  # the prefix matters
