"""The embedded model (SmolLM2-135M-Instruct GGUF): special tokens, GQA geometry, prefix decoding.

transformers 4.x converts this GGUF's tokenizer wrongly (eos <|im_start|>, a BOS on every encode),
which makes a trained model stop at once; these tests pin the 5.x behaviour the suite relies on.
"""

from __future__ import annotations

import time

import pytest
import torch

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def smol():
    from benchmark.models import load_model

    return load_model("smollm2-135m")


def test_special_tokens(smol):
    tok = smol.tokenizer.tok
    assert (tok.eos_token, smol.eos_id) == ("<|im_end|>", 2)
    assert smol.pad_id == 2
    assert smol.sep_id == 1 and tok.convert_ids_to_tokens(1) == "<|im_start|>"
    ids = smol.tokenizer.encode(" name : The Vaults | Type : pub")
    assert 1 not in ids and 2 not in ids  # no BOS/EOS added by encode
    assert smol.tokenizer.decode(ids) == " name : The Vaults | Type : pub"
    assert len(smol.tokenizer.encode(" table-to-text:")) == 6  # same P as GPT-2 BPE (ACL A.2)
    assert smol.banned_ids  # "\n" is one token and is banned when decoding


def test_gqa_geometry_and_parameter_counts(smol):
    from benchmark.lm import kv_geometry
    from benchmark.methods.prefix import PrefixConfig, PrefixTuned

    g = kv_geometry(smol.model.config)
    assert (g.num_layers, g.num_kv_heads, g.head_dim) == (30, 3, 64)
    assert 134_000_000 < smol.num_parameters < 135_000_000
    prefix = PrefixTuned(smol, PrefixConfig(prefix_len=5))
    prefix.finalize()
    assert prefix.stored_state()["prefix"].numel() == 5 * 2 * 30 * 3 * 64


def test_model_is_cached_within_a_process(smol):
    from benchmark.models import load_model

    start = time.perf_counter()
    again = load_model("smollm2-135m")
    assert time.perf_counter() - start < 10
    assert again.model is not smol.model  # each run gets its own copy to train


def test_prefix_greedy_decoding_matches_full_forward_loop(smol):
    from benchmark.layout import encode_prompt
    from benchmark.methods.prefix import PrefixConfig, PrefixTuned

    from .helpers import reference_greedy

    torch.manual_seed(0)
    prefix = PrefixTuned(smol, PrefixConfig(reparam="flat", init_text="table-to-text:"))
    prefix.finalize()
    prefix.eval()
    from benchmark.decode import greedy_batch

    prompts = [
        encode_prompt(smol, "name : The Vaults | Type : pub | price : more than £ 30"),
        encode_prompt(smol, "name : Aromi | Type : coffee shop"),
    ]
    batched = greedy_batch(prefix, smol, prompts, max_new=8)
    assert all(batched)  # something was generated, so the comparison below means something
    assert batched == [reference_greedy(prefix, smol, p, 8) for p in prompts]
