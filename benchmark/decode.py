"""One decoder for every method: batched beam search (or greedy) over the `AdaptedLM` interface.

Table-to-text settings (setup.md §6, R27): beam 5, at most 100 new tokens, no sampling, length
penalty 1.0, newline tokens banned, output cut at the first EOS and stripped. XSUM settings (R28)
are `paper.XSUM_DECODE`: they add a minimum length and n-gram blocking. Written here rather
than calling `generate`, because a prefix injected through the cache is silently dropped by some
library versions (PEFT 0.21.2's `generate` on transformers 5.x); our tests pin that the prefix is used.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from benchmark.layout import encode_prompt, left_pad
from benchmark.lm import autocast
from benchmark.methods.base import AdaptedLM
from benchmark.models import LoadedModel
from benchmark.progress import Progress
from benchmark.spec import DecodeConfig

EMPTY_OUTPUT = "Error"  # the anchor writes an empty generation as this literal line (A.8)


@dataclass
class DecodeResult:
    outputs: list[str]
    empty: int  # outputs that were empty and written as EMPTY_OUTPUT
    seconds: float


def _ban(logits: torch.Tensor, banned: list[int]) -> torch.Tensor:
    if banned:
        logits[:, banned] = -float("inf")
    return logits


def repeated_ngram_tokens(generated: list[int], n: int) -> list[int]:
    """Tokens that would complete an n-gram already in `generated` (transformers'
    NoRepeatNGramLogitsProcessor, over the generated tokens: for BART its history adds only the
    start tokens, which never recur; for a decoder-only LM it would add the prompt)."""
    if n < 1 or len(generated) < n - 1:
        return []
    tail = generated[len(generated) - n + 1 :]
    return [
        generated[i + n - 1]
        for i in range(len(generated) - n + 1)
        if generated[i : i + n - 1] == tail
    ]


def _constrain(
    scores: torch.Tensor,
    generated: list[list[int]],
    eos_id: int,
    min_new: int,
    no_repeat_ngram: int,
) -> torch.Tensor:
    """Minimum length and n-gram blocking on (rows, vocab) scores, one `generated` list per row.
    Set to -inf after the log-softmax, without renormalising, as transformers' processors do."""
    if min_new > 0:
        short = [row for row, tokens in enumerate(generated) if len(tokens) < min_new]
        scores[short, eos_id] = -float("inf")
    if no_repeat_ngram > 0:
        for row, tokens in enumerate(generated):
            banned = repeated_ngram_tokens(tokens, no_repeat_ngram)
            if banned:
                scores[row, banned] = -float("inf")
    return scores


@torch.no_grad()
def greedy_batch(
    adapted: AdaptedLM,
    loaded: LoadedModel,
    prompts: list[list[int]],
    max_new: int,
    min_new: int = 0,
    no_repeat_ngram: int = 0,
):
    ids, mask = _on_device(adapted, *left_pad(prompts, loaded.pad_id))
    logits, state = adapted.prefill(ids, mask)
    rows = len(prompts)
    out: list[list[int]] = [[] for _ in range(rows)]
    done = torch.zeros(rows, dtype=torch.bool)
    for _ in range(max_new):
        scores = _ban(logits.float(), loaded.banned_ids)
        token = _constrain(scores, out, loaded.eos_id, min_new, no_repeat_ngram).argmax(-1)
        for r in range(rows):
            if not done[r]:
                if int(token[r]) == loaded.eos_id:
                    done[r] = True
                else:
                    out[r].append(int(token[r]))
        if bool(done.all()):
            break
        logits = adapted.step(token, state)
    return out


@torch.no_grad()
def beam_batch(
    adapted: AdaptedLM,
    loaded: LoadedModel,
    prompts: list[list[int]],
    num_beams: int,
    max_new: int,
    length_penalty: float,
    min_new: int = 0,
    no_repeat_ngram: int = 0,
    early_stopping: bool = False,
):
    """Beam search with the semantics of transformers' beam search: a hypothesis ends at EOS with
    score sum-logprob / generated_length**length_penalty (EOS counted); a prompt is done when it
    has `num_beams` finished hypotheses and, unless `early_stopping`, no running beam scored at the
    current length can beat the worst of them. `min_new` and `no_repeat_ngram` act per beam on its
    own tokens (see `_constrain`)."""
    batch = len(prompts)
    k = num_beams
    ids, mask = _on_device(adapted, *left_pad(prompts, loaded.pad_id))
    device = ids.device
    logits, state = adapted.prefill(ids, mask)
    state.repeat_interleave(k)
    logits = logits.repeat_interleave(k, 0)
    scores = torch.zeros(batch, k, device=device)
    scores[:, 1:] = -1e9  # all beams start identical: only the first may expand at step 1
    scores = scores.view(-1)
    tokens: list[list[int]] = [[] for _ in range(batch * k)]
    finished: list[list[tuple[float, list[int]]]] = [[] for _ in range(batch)]
    active = list(range(batch))  # prompts still searching; their beams are the rows, in order
    workspace = None  # the log-probabilities, one buffer for every step (rows only shrink)
    for length in range(1, max_new + 1):
        logits = _ban(logits.float(), loaded.banned_ids)
        if workspace is None:
            workspace = torch.empty_like(logits).view(-1)
        logprobs = workspace[: logits.numel()].view(logits.shape)
        torch.log_softmax(logits, -1, out=logprobs)
        logprobs = _constrain(logprobs, tokens, loaded.eos_id, min_new, no_repeat_ngram)
        vocab = logprobs.shape[-1]
        total = logprobs.add_(scores[:, None]).view(len(active), k * vocab)
        top_scores, top_idx = total.topk(2 * k, dim=-1)
        # one transfer to Python per step, not one per candidate (the same numbers)
        top_scores_l, top_idx_l = top_scores.tolist(), top_idx.tolist()
        next_rows, next_tokens, next_scores, still_active = [], [], [], []
        for j, b in enumerate(active):
            chosen = []
            for rank in range(2 * k):
                beam, token = divmod(top_idx_l[j][rank], vocab)
                row, score = j * k + beam, top_scores_l[j][rank]
                if token == loaded.eos_id:
                    if rank < k:  # as transformers: EOS only counts from the top-k candidates
                        finished[b].append((score / length**length_penalty, tokens[row]))
                else:
                    chosen.append((row, token, score))
                if len(chosen) == k:
                    break
            finished[b] = sorted(finished[b], key=lambda h: -h[0])[:k]
            best_running = chosen[0][2] / length**length_penalty
            if len(finished[b]) == k and (early_stopping or finished[b][-1][0] >= best_running):
                continue  # done: its rows leave the batch, so later steps cost less
            still_active.append(b)
            for row, token, score in chosen:
                next_rows.append(row)
                next_tokens.append(token)
                next_scores.append(score)
        if not still_active:
            break
        # the old positions of the prompts that stay, when some left (their rows are dropped)
        kept = None
        if len(still_active) < len(active):
            stay = set(still_active)
            kept = torch.tensor([j for j, b in enumerate(active) if b in stay], device=device)
        active = still_active
        rows = torch.tensor(next_rows, device=device)
        tokens = [tokens[r] + [t] for r, t in zip(next_rows, next_tokens)]
        scores = torch.tensor(next_scores, device=device)
        state.select(rows, kept)
        logits = adapted.step(torch.tensor(next_tokens, device=device), state)
    else:
        # out of budget: running beams compete with the finished ones (transformers finalize)
        for j, b in enumerate(active):
            for beam in range(k):
                row = j * k + beam
                finished[b].append((float(scores[row]) / max_new**length_penalty, tokens[row]))
    return [max(hyps, key=lambda h: h[0])[1] if hyps else [] for hyps in finished]


def _device(adapted: AdaptedLM) -> torch.device:
    """Where the adapted LM's parameters live (CPU for a stand-in without parameters)."""
    try:
        return next(adapted.parameters()).device
    except (AttributeError, StopIteration):
        return torch.device("cpu")


def _on_device(adapted: AdaptedLM, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """`tensors` on the device of the adapted LM's parameters."""
    device = _device(adapted)
    return tuple(t.to(device) for t in tensors)


def decode(
    adapted: AdaptedLM,
    loaded: LoadedModel,
    sources: list[str],
    config: DecodeConfig,
    progress: bool = True,
    max_source_tokens: int = 256,
) -> DecodeResult:
    """Generate one output per source, in the order given; sources are cut to `max_source_tokens`
    tokens as in training (`TrainConfig.max_source_tokens`).

    `progress`: a tqdm bar (for a terminal); otherwise a log line per batch with the inputs done,
    elapsed time and ETA (`benchmark.progress`)."""
    adapted.eval()
    start = time.perf_counter()
    prompts = [encode_prompt(loaded, s, max_source_tokens) for s in sources]
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))  # less padding per batch
    outputs: list[str] = [""] * len(prompts)
    batch_starts = range(0, len(order), config.batch_size)
    meter = Progress(len(batch_starts), "decode", "batch", bar=progress)
    with autocast(config.precision, _device(adapted).type):
        _decode_batches(adapted, loaded, prompts, order, outputs, config, meter)
    meter.close()
    empty = sum(1 for o in outputs if not o)
    outputs = [o or EMPTY_OUTPUT for o in outputs]
    return DecodeResult(outputs, empty, time.perf_counter() - start)


def _decode_batches(adapted, loaded, prompts, order, outputs, config, meter) -> None:
    for start_i in range(0, len(order), config.batch_size):
        chunk = order[start_i : start_i + config.batch_size]
        batch_prompts = [prompts[i] for i in chunk]
        if config.num_beams == 1:
            generated = greedy_batch(
                adapted,
                loaded,
                batch_prompts,
                config.max_new_tokens,
                config.min_new_tokens,
                config.no_repeat_ngram_size,
            )
        else:
            generated = beam_batch(
                adapted,
                loaded,
                batch_prompts,
                config.num_beams,
                config.max_new_tokens,
                config.length_penalty,
                config.min_new_tokens,
                config.no_repeat_ngram_size,
                config.early_stopping,
            )
        for i, ids in zip(chunk, generated):
            outputs[i] = " ".join(loaded.tokenizer.decode(ids).split())  # one line, stripped
        meter.update(note=f"{start_i + len(chunk)}/{len(prompts)} inputs")
