"""One decoder for every method: batched beam search (or greedy) over the `AdaptedLM` interface.

Table-to-text settings (setup.md §6, R27): beam 5, at most 100 new tokens, no sampling, length
penalty 1.0, newline tokens banned, output cut at the first EOS and stripped. Written here rather
than calling `generate`, because a prefix injected through the cache is silently dropped by some
library versions (PEFT 0.21.2's `generate` on transformers 5.x); our tests pin that the prefix is used.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from benchmark.methods import AdaptedLM
from benchmark.models import LoadedModel
from benchmark.train import encode_prompt

EMPTY_OUTPUT = "Error"  # the anchor writes an empty generation as this literal line (A.8)


@dataclass(frozen=True)
class DecodeConfig:
    num_beams: int = 5  # paper §5.3: beam search, beam 5, for table-to-text
    max_new_tokens: int = 100  # anchor gen.py --length 100
    length_penalty: float = 1.0  # anchor default
    batch_size: int = 16  # prompts per batch (rows = batch x beams)

    def __post_init__(self) -> None:
        if self.num_beams < 1 or self.max_new_tokens < 1 or self.batch_size < 1:
            raise ValueError("num_beams, max_new_tokens and batch_size must be >= 1")


@dataclass
class DecodeResult:
    outputs: list[str]
    empty: int  # outputs that were empty and written as EMPTY_OUTPUT
    seconds: float


def left_pad(prompts: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for row, p in enumerate(prompts):
        ids[row, width - len(p) :] = torch.tensor(p)
        mask[row, width - len(p) :] = 1
    return ids, mask


def _ban(logits: torch.Tensor, banned: list[int]) -> torch.Tensor:
    if banned:
        logits[:, banned] = -float("inf")
    return logits


@torch.no_grad()
def greedy_batch(adapted: AdaptedLM, loaded: LoadedModel, prompts: list[list[int]], max_new: int):
    ids, mask = left_pad(prompts, loaded.pad_id)
    logits, state = adapted.prefill(ids, mask)
    rows = len(prompts)
    out: list[list[int]] = [[] for _ in range(rows)]
    done = torch.zeros(rows, dtype=torch.bool)
    for _ in range(max_new):
        token = _ban(logits.float(), loaded.banned_ids).argmax(-1)
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
):
    """Beam search with the semantics of transformers' (early_stopping=False): a hypothesis ends at
    EOS with score sum-logprob / generated_length**length_penalty (EOS counted); a prompt is done
    when it has `num_beams` finished hypotheses and no running beam can still beat the worst."""
    batch = len(prompts)
    k = num_beams
    ids, mask = left_pad(prompts, loaded.pad_id)
    logits, state = adapted.prefill(ids, mask)
    state.repeat_interleave(k)
    logits = logits.repeat_interleave(k, 0)
    scores = torch.zeros(batch, k)
    scores[:, 1:] = -1e9  # all beams start identical: only the first may expand at step 1
    scores = scores.view(-1)
    tokens: list[list[int]] = [[] for _ in range(batch * k)]
    finished: list[list[tuple[float, list[int]]]] = [[] for _ in range(batch)]
    done = [False] * batch
    for length in range(1, max_new + 1):
        logprobs = torch.log_softmax(_ban(logits.float(), loaded.banned_ids), -1)
        vocab = logprobs.shape[-1]
        total = (scores[:, None] + logprobs).view(batch, k * vocab)
        top_scores, top_idx = total.topk(2 * k, dim=-1)
        next_rows, next_tokens, next_scores = [], [], []
        for b in range(batch):
            chosen = []
            if not done[b]:
                for rank in range(2 * k):
                    beam, token = divmod(int(top_idx[b, rank]), vocab)
                    row, score = b * k + beam, float(top_scores[b, rank])
                    if token == loaded.eos_id:
                        if rank < k:  # as transformers: EOS only counts from the top-k candidates
                            finished[b].append((score / length**length_penalty, tokens[row]))
                    else:
                        chosen.append((row, token, score))
                    if len(chosen) == k:
                        break
                finished[b] = sorted(finished[b], key=lambda h: -h[0])[:k]
                best_running = chosen[0][2] / length**length_penalty
                if len(finished[b]) == k and finished[b][-1][0] >= best_running:
                    done[b] = True
            if done[b]:  # keep shapes: dead rows carry on with a dummy token and -inf score
                chosen = [(b * k, loaded.eos_id, -1e9)] * k
            for row, token, score in chosen:
                next_rows.append(row)
                next_tokens.append(token)
                next_scores.append(score)
        if all(done):
            break
        rows = torch.tensor(next_rows)
        tokens = [tokens[r] + [t] for r, t in zip(next_rows, next_tokens)]
        scores = torch.tensor(next_scores)
        state.select(rows)
        logits = adapted.step(torch.tensor(next_tokens), state)
    else:
        # out of budget: running beams compete with the finished ones (transformers finalize)
        for b in range(batch):
            if not done[b]:
                for beam in range(k):
                    row = b * k + beam
                    finished[b].append((float(scores[row]) / max_new**length_penalty, tokens[row]))
    return [max(hyps, key=lambda h: h[0])[1] if hyps else [] for hyps in finished]


def decode(
    adapted: AdaptedLM,
    loaded: LoadedModel,
    sources: list[str],
    config: DecodeConfig,
    progress: bool = True,
) -> DecodeResult:
    """Generate one output per source, in the order given."""
    adapted.eval()
    start = time.perf_counter()
    prompts = [encode_prompt(loaded, s) for s in sources]
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))  # less padding per batch
    outputs: list[str] = [""] * len(prompts)
    bar = tqdm(total=len(prompts), desc="decode", disable=not progress, leave=False)
    for start_i in range(0, len(order), config.batch_size):
        chunk = order[start_i : start_i + config.batch_size]
        batch_prompts = [prompts[i] for i in chunk]
        if config.num_beams == 1:
            generated = greedy_batch(adapted, loaded, batch_prompts, config.max_new_tokens)
        else:
            generated = beam_batch(
                adapted,
                loaded,
                batch_prompts,
                config.num_beams,
                config.max_new_tokens,
                config.length_penalty,
            )
        for i, ids in zip(chunk, generated):
            outputs[i] = " ".join(loaded.tokenizer.decode(ids).split())  # one line, stripped
        bar.update(len(chunk))
    bar.close()
    empty = sum(1 for o in outputs if not o)
    outputs = [o or EMPTY_OUTPUT for o in outputs]
    return DecodeResult(outputs, empty, time.perf_counter() - start)
