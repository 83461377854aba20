"""The decoder uses what the method changed: batched beam/greedy decoding with a prefix equals a
step-by-step loop of full forward passes with the prefix, and differs from the bare model."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from benchmark.decode import (
    beam_batch,
    decode,
    greedy_batch,
    repeated_ngram_tokens,
)
from benchmark.layout import encode_prompt
from benchmark.methods.finetune import FinetuneConfig, Finetuned
from benchmark.methods.prefix import PrefixConfig, PrefixTuned
from benchmark.spec import DecodeConfig

from .helpers import SOURCES, reference_greedy


def strong_prefix(loaded) -> PrefixTuned:
    """A prefix that matters: large random keys/values move the tiny model's predictions."""
    torch.manual_seed(1)
    prefix = PrefixTuned(loaded, PrefixConfig(prefix_len=4, reparam="flat"))
    with torch.no_grad():
        prefix.flat.mul_(3.0)
    prefix.finalize()
    return prefix.eval()


def test_batched_greedy_equals_full_forward_loop_and_uses_the_prefix(tiny):
    prefix = strong_prefix(tiny)
    prompts = [encode_prompt(tiny, s) for s in SOURCES]
    batched = greedy_batch(prefix, tiny, prompts, max_new=15)
    expected = [reference_greedy(prefix, tiny, p, 15) for p in prompts]
    assert batched == expected
    bare = Finetuned(tiny, FinetuneConfig()).eval()
    assert batched != greedy_batch(bare, tiny, prompts, max_new=15)


def test_beam_of_one_is_greedy_and_batching_does_not_change_beams(tiny):
    prefix = strong_prefix(tiny)
    prompts = [encode_prompt(tiny, s) for s in SOURCES]
    greedy = greedy_batch(prefix, tiny, prompts, max_new=12)
    assert beam_batch(prefix, tiny, prompts, 1, 12, 1.0) == greedy
    batched = beam_batch(prefix, tiny, prompts, 3, 12, 1.0)
    alone = [beam_batch(prefix, tiny, [p], 3, 12, 1.0)[0] for p in prompts]
    assert batched == alone


class TreeLM:
    """A stub `AdaptedLM` whose next-token probabilities depend only on the last token fed:
    start: A .6, B .4; after A: EOS .3, A .35, B .35; after B: EOS .9, A .05, B .05 (EOS = 0,
    A = 1, B = 2). Greedy follows A forever; beam 2 finds B EOS (p .36), worked out by hand in
    `test_beam_search_beats_greedy_by_hand`."""

    TABLE = {
        None: [1e-9, 0.6, 0.4],
        1: [0.3, 0.35, 0.35],
        2: [0.9, 0.05, 0.05],
    }

    def _logits(self, last) -> torch.Tensor:
        return torch.tensor([self.TABLE[t] for t in last]).log()

    def prefill(self, ids, mask):
        rows = ids.shape[0]
        return self._logits([None] * rows), SimpleNamespace(
            repeat_interleave=lambda times: None, select=lambda rows, prompts=None: None
        )

    def step(self, tokens, state):
        return self._logits(tokens.tolist())


def test_beam_search_beats_greedy_by_hand():
    """Step 2 candidates: B EOS .36 (finished, score ln .36 / 2), A A .21, A B .21, A EOS .18;
    step 3: A B EOS .189 finishes (ln .189 / 3); no running beam (best A A A .0735) can beat the
    worse finished one, so the search stops with B."""
    lm, stub = TreeLM(), SimpleNamespace(eos_id=0, pad_id=0, banned_ids=[])
    assert greedy_batch(lm, stub, [[5]], 3) == [[1, 1, 1]]
    assert beam_batch(lm, stub, [[5]], 2, 3, 1.0) == [[2]]
    assert beam_batch(lm, stub, [[5]], 1, 3, 1.0) == [[1, 1, 1]]  # beam of one is greedy
    assert beam_batch(lm, stub, [[5], [7]], 2, 3, 1.0) == [[2], [2]]


class LongerWinsLM(TreeLM):
    """EOS = 0, A = 1, B = 2, C = 3; start: EOS .5, A .3, B .2; after A: EOS .4, C .6; after B:
    EOS .95, A .03, C .02; after C: EOS .99. Worked by hand in
    `test_early_stopping_ends_at_num_beams_finished`."""

    TABLE = {
        None: [0.5, 0.3, 0.2, 1e-9],
        1: [0.4, 1e-9, 1e-9, 0.6],
        2: [0.95, 0.03, 1e-9, 0.02],
        3: [0.99, 0.005, 0.004, 0.001],
    }


def test_early_stopping_ends_at_num_beams_finished():
    """Beam 2, length penalty 2. Step 1: EOS (.5) finishes, ln .5 / 1 = -.693; A, B run. Step 2:
    B EOS (.19) finishes, ln .19 / 4 = -.415: two finished. early_stopping=True stops here with B.
    False goes on, since the running A C (.18) scores ln .18 / 4 = -.429 > -.693; step 3: A C EOS
    (.178) finishes with ln .178 / 9 = -.192, the best, and nothing running can beat -.415."""
    lm, stub = LongerWinsLM(), SimpleNamespace(eos_id=0, pad_id=0, banned_ids=[])
    assert beam_batch(lm, stub, [[5]], 2, 6, 2.0, early_stopping=True) == [[2]]
    assert beam_batch(lm, stub, [[5]], 2, 6, 2.0, early_stopping=False) == [[1, 3]]
    assert beam_batch(lm, stub, [[5]], 2, 6, 2.0) == [[1, 3]]  # transformers' default is False


def test_decode_keeps_order_bans_newlines_and_marks_empty(tiny):
    prefix = strong_prefix(tiny)
    result = decode(
        prefix,
        tiny,
        SOURCES,
        DecodeConfig(num_beams=2, max_new_tokens=8, batch_size=2),
        progress=False,
    )
    assert len(result.outputs) == len(SOURCES)
    assert all("\n" not in o and o for o in result.outputs)
    one_by_one = [
        decode(
            prefix, tiny, [s], DecodeConfig(num_beams=2, max_new_tokens=8), progress=False
        ).outputs[0]
        for s in SOURCES
    ]
    assert result.outputs == one_by_one


class ConstantLM:
    """A stub `AdaptedLM` whose next-token scores never change: EOS (id 0) first, then 1 > 2 > 3 >
    ... by steps of one logit, so every constrained output can be worked out by hand."""

    VOCAB = 8

    def _logits(self, rows: int) -> torch.Tensor:
        return -torch.arange(self.VOCAB, dtype=torch.float).repeat(rows, 1)

    def prefill(self, ids, mask):
        return self._logits(ids.shape[0]), SimpleNamespace(
            repeat_interleave=lambda times: None, select=lambda rows, prompts=None: None
        )

    def step(self, tokens, state):
        return self._logits(tokens.shape[0])


STUB = SimpleNamespace(eos_id=0, pad_id=0, banned_ids=[])


def test_min_new_tokens_bans_eos_until_reached_greedy_and_beam():
    lm = ConstantLM()
    assert greedy_batch(lm, STUB, [[5]], 6) == [[]]  # EOS is the best first token
    assert greedy_batch(lm, STUB, [[5], [6]], 6, min_new=3) == [[1, 1, 1], [1, 1, 1]]
    assert beam_batch(lm, STUB, [[5]], 3, 6, 1.0) == [[]]
    assert beam_batch(lm, STUB, [[5], [6]], 3, 6, 1.0, min_new=3) == [[1, 1, 1], [1, 1, 1]]


def test_no_repeat_ngram_blocks_by_hand():
    """Preference 1 > 2 > 3 ... with EOS banned (min_new): bigrams may not repeat, so after
    1 1 the next 1 would repeat (1, 1) -> 2; then 1; then (1, 1), (1, 2) are taken -> 3; ..."""
    lm = ConstantLM()
    out = greedy_batch(lm, STUB, [[5]], 7, min_new=7, no_repeat_ngram=2)
    assert out == [[1, 1, 2, 1, 3, 1, 4]]
    assert greedy_batch(lm, STUB, [[5]], 4, min_new=4, no_repeat_ngram=1) == [[1, 2, 3, 4]]
    assert repeated_ngram_tokens([1, 1, 2, 1], 2) == [1, 2]  # after 1: (1, 1) and (1, 2) seen
    assert repeated_ngram_tokens([1, 2, 3, 1, 2], 3) == [3]
    assert repeated_ngram_tokens([1, 2], 3) == []
    beam = beam_batch(lm, STUB, [[5]], 2, 7, 1.0, min_new=7, no_repeat_ngram=2)[0]
    assert len(beam) == 7 and len(set(zip(beam, beam[1:]))) == 6


def test_constraints_are_off_by_default_for_table_to_text():
    config = DecodeConfig()
    assert (config.num_beams, config.max_new_tokens, config.length_penalty) == (5, 100, 1.0)
    assert (config.min_new_tokens, config.no_repeat_ngram_size) == (0, 0)
    with pytest.raises(ValueError):
        DecodeConfig(min_new_tokens=100)
