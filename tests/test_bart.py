"""The encoder-decoder family (BART): the seq2seq seam in benchmark/methods/seq2seq.py and prefix-tuning's
three prefix groups (A.6; R9, R11, R12, R22), decoding with the XSUM constraints (R28).

The all-methods checks (training, what changes, decoding = full-forward loop, ejection) run on
`tiny-bart` in tests/test_methods.py.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from benchmark.decode import beam_batch, decode, greedy_batch
from benchmark.errors import UnsupportedModelError
from benchmark.layout import collate, encode_pair, encode_prompt, left_pad
from benchmark.lm import flatten_cache, flatten_key_values
from benchmark.methods import seq2seq
from benchmark.methods.finetune import FinetuneConfig, Finetuned
from benchmark.methods.prefix import PrefixConfig, PrefixTuned, Seq2SeqPrefixTuned, build_prefix
from benchmark.models import ByteTokenizer, HFTokenizer, LoadedModel, load_model
from benchmark.paper import XSUM_DECODE as XSUM_SETTINGS
from benchmark.spec import DecodeConfig
from benchmark.train import reduce_loss, sequence_losses

from .helpers import LIMITS, SOURCES, reference_greedy

XSUM_DECODE = DecodeConfig(**XSUM_SETTINGS)

TARGETS = ["Aromi is a coffee shop.", "Bibimbap House is by Clare Hall.", "X."]
P = 4


@pytest.fixture
def bart():
    return load_model("tiny-bart")


def strong_prefix(loaded, **options) -> Seq2SeqPrefixTuned:
    """Flat prefixes drawn large enough to move the tiny model's predictions, ejected."""
    torch.manual_seed(1)
    prefix = Seq2SeqPrefixTuned(loaded, PrefixConfig(prefix_len=P, reparam="flat", **options))
    with torch.no_grad():
        for group in prefix.groups.values():
            group.flat.mul_(3.0)
    prefix.finalize()
    return prefix.eval()


def batch(loaded, sources=SOURCES, targets=TARGETS):
    pairs = [encode_pair(loaded, s, t, *LIMITS) for s, t in zip(sources, targets)]
    return collate(pairs, loaded.pad_id)  # right-padded (B, T) ids, mask, labels


def test_trainers_next_token_loss_is_the_seq2seq_loss(bart):
    """The caller's [src; sep; tgt; eos] rows, split by the seam, give exactly transformers' own
    seq2seq loss (encoder <- src, labels = tgt + eos, decoder input = labels shifted right)."""
    torch.manual_seed(0)
    adapted = Finetuned(bart, FinetuneConfig()).eval()
    ids, mask, labels = batch(bart)
    seq_sum, counts = sequence_losses(adapted(ids, mask), labels)
    ours = reduce_loss(seq_sum, counts, "token_mean")

    sources = [bart.tokenizer.encode(" " + s) for s in SOURCES]
    targets = [bart.tokenizer.encode(" " + t) + [bart.eos_id] for t in TARGETS]
    src, src_mask, _ = collate([(s, s) for s in sources], bart.pad_id)
    hf_labels = collate([(t, t) for t in targets], bart.pad_id)[2]  # pads -> -100
    with torch.no_grad():
        theirs = bart.model(input_ids=src, attention_mask=src_mask, labels=hf_labels).loss
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_affixes_and_forced_decoder_prompt_land_where_they_should(bart):
    """BART-large's layout: encoder <s> src </s>, decoder </s> <s> tgt; the logit at the caller's
    separator is the one after the forced <s>, and source slots carry no logits."""
    lt, gt = ord("<"), ord(">")  # stand-ins for <s> and BART's forced bos in the byte vocabulary
    loaded = dataclasses.replace(bart, source_affixes=((lt,), (bart.eos_id,)), decoder_prompt=(gt,))
    adapted = Finetuned(loaded, FinetuneConfig()).eval()
    ids, mask, _ = batch(loaded)
    logits = adapted(ids, mask)
    for row in range(len(SOURCES)):
        src = bart.tokenizer.encode(" " + SOURCES[row])
        tgt = bart.tokenizer.encode(" " + TARGETS[row]) + [bart.eos_id]
        with torch.no_grad():
            alone = bart.model(
                input_ids=torch.tensor([[lt, *src, bart.eos_id]]),
                decoder_input_ids=torch.tensor([[bart.sep_id, gt, *tgt]]),
            ).logits[0]
        sep = len(src)
        assert torch.allclose(logits[row, sep : sep + len(tgt)], alone[1:-1], atol=1e-5)
        assert not logits[row, :sep].any()
    # decoding reads the same layout: the first step predicts after [sep, forced prompt]
    prompts = [encode_prompt(loaded, s) for s in SOURCES]
    assert greedy_batch(adapted, loaded, prompts, 6) == [
        reference_greedy(adapted, loaded, p, 6) for p in prompts
    ]


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_padded_prefix_batch_equals_rows_alone(bart, attention):
    """R10 on BART: right-padded sources and targets change nothing for the real tokens, with the
    prefix columns added to sdpa's boolean and eager's additive masks alike."""
    bart.model.set_attn_implementation(attention)
    prefix = strong_prefix(bart)
    assert bart.model.config._attn_implementation == seq2seq.PREFIX_ATTENTION + attention
    ids, mask, labels = batch(bart)
    logits = prefix(ids, mask)
    for row in range(len(SOURCES)):
        real = mask[row].bool()
        alone = prefix(ids[row : row + 1, real], mask[row : row + 1, real])[0]
        assert torch.allclose(logits[row, real], alone, atol=1e-4)  # large random weights
    if attention == "eager":
        bart.model.set_attn_implementation("sdpa")
        sdpa = strong_prefix(bart)
        assert torch.allclose(sdpa(ids, mask)[mask.bool()], logits[mask.bool()], atol=1e-4)


def test_three_prefix_groups_are_independent_and_sized_as_the_paper(bart):
    """R11: encoder, decoder self- and cross-attention prefixes, each its own embedding + MLP;
    perturbing only the encoder prefix changes the encoder output, the others do not."""
    torch.manual_seed(0)
    prefix = Seq2SeqPrefixTuned(bart, PrefixConfig(prefix_len=P, mid_dim=16)).eval()
    assert set(prefix.groups) == {"encoder", "decoder", "cross"}
    params = [{id(p) for p in g.parameters()} for g in prefix.groups.values()]
    assert all(not (a & b) for i, a in enumerate(params) for b in params[i + 1 :])
    ids, mask, _ = batch(bart)
    rows = seq2seq.split_rows(ids, mask, prefix.layout)

    def outputs():
        with torch.no_grad():
            with seq2seq.prefix_active(bart.model, prefix.attention_prefix()):
                encoded = seq2seq.encode(bart.model, rows.source, rows.source_mask)
            return encoded, prefix(ids, mask)

    encoded, logits = outputs()
    plain = seq2seq.encode(bart.model, rows.source, rows.source_mask)
    assert not torch.allclose(encoded, plain, atol=1e-4)  # the encoder prefix is used
    for name in ("decoder", "cross"):
        with torch.no_grad():
            prefix.groups[name].mlp[-1].bias.add_(1.0)
        again, changed = outputs()
        assert torch.equal(again, encoded), f"the {name} prefix reached the encoder"
        assert not torch.allclose(changed, logits, atol=1e-4), f"the {name} prefix is unused"
        logits = changed
    with torch.no_grad():
        prefix.groups["encoder"].mlp[-1].bias.add_(1.0)
    assert not torch.allclose(outputs()[0], encoded, atol=1e-4)

    prefix.finalize()
    stored = prefix.stored_state()
    config = bart.model.config
    width = 2 * config.decoder_layers * config.d_model  # 2 * L * H * head_dim per position
    assert {k: tuple(v.shape) for k, v in stored.items()} == {
        f"{g}_prefix": (P, width) for g in ("encoder", "decoder", "cross")
    }


def test_key_lengths_and_beam_rows(bart, monkeypatch):
    """Cross-attention keys are P + source length; decoder self-attention keys P + decoder tokens;
    during beam search the encoder runs on the batch and the decoder on batch x beams rows (R12)."""
    prefix = strong_prefix(bart)
    kinds = {id(m): kind for kind, ms in seq2seq.attention_modules(bart.model).items() for m in ms}
    seen: list[tuple[str, int, int, int]] = []  # kind, rows, query length, key length
    real_sdpa = seq2seq.BASE_ATTENTION["sdpa"]

    def spy(module, query, key, value, mask, **kwargs):
        seen.append((kinds[id(module)], key.shape[0], query.shape[2], key.shape[2]))
        return real_sdpa(module, query, key, value, mask, **kwargs)

    monkeypatch.setitem(seq2seq.BASE_ATTENTION, "sdpa", spy)
    ids, mask, _ = batch(bart)
    prefix(ids, mask)
    source_len = seq2seq.split_rows(ids, mask, prefix.layout).source.shape[1]
    decoder_len = seq2seq.split_rows(ids, mask, prefix.layout).decoder.shape[1]
    assert {s[3] for s in seen if s[0] in ("encoder", "cross")} == {P + source_len}
    assert {s[3] for s in seen if s[0] == "decoder"} == {P + decoder_len}

    seen.clear()
    prompts = [encode_prompt(bart, s) for s in SOURCES[:2]]
    beam_batch(prefix, bart, prompts, 3, 4, 1.0)
    assert {s[1] for s in seen if s[0] == "encoder"} == {2}
    steps = [s for s in seen if s[0] != "encoder" and s[1] != 2]  # after the beam expansion
    assert steps and {s[1] for s in steps} == {2 * 3}


def test_positions_are_not_shifted_and_the_cache_holds_no_prefix(bart):
    """R9: as in the anchor, BART's decoder positions start at 0 whatever P is; the prefix lives in
    the attention, not in the cache (self: real decoder tokens only; cross: the source only)."""
    prefix = strong_prefix(bart)
    seen = []
    hook = bart.model.model.decoder.embed_positions.register_forward_pre_hook(
        lambda module, args, kwargs: seen.append(kwargs["position_ids"].tolist()),
        with_kwargs=True,
    )
    prompts = [encode_prompt(bart, s) for s in SOURCES]
    ids, mask = left_pad(prompts, bart.pad_id)
    _, state = prefix.prefill(ids, mask)
    prefix.step(torch.tensor([65, 66, 67]), state)
    hook.remove()
    assert seen == [[0], [1]]
    source_len = max(len(p) - 1 for p in prompts)
    assert state.cache.self_attention_cache.get_seq_length() == 2
    assert state.cache.cross_attention_cache.layers[0].keys.shape[2] == source_len


def test_frozen_lm_dropout_follows_the_anchor_per_family_and_is_logged(bart):
    """R22: on for BART prefix training, off for GPT-2, switchable; token-mean loss for BART."""
    on = Seq2SeqPrefixTuned(bart, PrefixConfig(prefix_len=2)).train()
    assert on.lm.training and on.method_info()["lm_dropout"] is True
    assert on.loss_reduction == "token_mean" and on.mid_dim == 800  # A.6; ACL fn 4
    off = Seq2SeqPrefixTuned(bart, PrefixConfig(prefix_len=2, mid_dim=8, lm_dropout=False)).train()
    assert not off.lm.training and off.method_info()["lm_dropout"] is False
    gpt = PrefixTuned(load_model("tiny-gpt2"), PrefixConfig(prefix_len=2, mid_dim=8)).train()
    assert not gpt.lm.training and gpt.loss_reduction == "sequence_sum"


def test_real_word_init_gives_each_group_the_words_key_values(bart):
    """R18 on BART: P = the words' token count; with the flat variant the decoder and cross groups
    equal transformers' own cache of BART run on the words (source = target = the words) and the
    encoder group equals the encoder layers' key/value projections of their inputs."""
    words = bart.tokenizer.encode(" summarize")
    torch.manual_seed(0)
    flat = Seq2SeqPrefixTuned(bart, PrefixConfig(init_text="summarize", reparam="flat"))
    assert flat.prefix_len == len(words) and flat.method_info()["init_mse"] == 0.0
    lm = flat.lm.eval()
    ids = torch.tensor([words])
    with torch.no_grad():
        out = lm(input_ids=ids, decoder_input_ids=ids, use_cache=True, output_hidden_states=True)
    groups = {name: group() for name, group in flat.groups.items()}
    cache = out.past_key_values
    geometry = flat.groups["decoder"].geometry
    torch.testing.assert_close(
        groups["decoder"], flatten_cache(cache.self_attention_cache, geometry)[0]
    )
    torch.testing.assert_close(
        groups["cross"], flatten_cache(cache.cross_attention_cache, geometry)[0]
    )
    encoder = flat.groups["encoder"].geometry
    layers = []
    for layer, hidden in zip(lm.get_encoder().layers, out.encoder_hidden_states):
        heads = [proj(hidden).view(1, -1, encoder.num_kv_heads, encoder.head_dim).transpose(1, 2)
                 for proj in (layer.self_attn.k_proj, layer.self_attn.v_proj)]  # fmt: skip
        layers.append(tuple(heads))
    torch.testing.assert_close(groups["encoder"], flatten_key_values(layers, encoder)[0])
    assert not torch.equal(groups["encoder"], groups["decoder"])  # three different targets

    def fitted(**options) -> dict[str, float]:
        torch.manual_seed(0)
        config = PrefixConfig(init_text="summarize", mid_dim=16, init_lr=1e-3, **options)
        prefix = Seq2SeqPrefixTuned(bart, config)
        errors = {
            n: float(((g().detach() - groups[n]) ** 2).mean()) for n, g in prefix.groups.items()
        }
        assert max(errors.values()) == pytest.approx(prefix.init_mse, rel=1e-5)
        return errors

    unfitted, regressed = fitted(init_steps=0), fitted()
    for name in groups:  # each MLP was regressed onto its own group's target
        assert regressed[name] < 0.2 * unfitted[name]


def test_decoding_equals_full_forward_loops_and_batching_changes_nothing(bart):
    prefix = strong_prefix(bart)
    prompts = [encode_prompt(bart, s) for s in SOURCES]
    greedy = greedy_batch(prefix, bart, prompts, 12)
    assert greedy == [reference_greedy(prefix, bart, p, 12) for p in prompts]
    assert len({tuple(g) for g in greedy}) > 1  # outputs depend on the source
    assert greedy != greedy_batch(Finetuned(bart, FinetuneConfig()).eval(), bart, prompts, 12)
    assert beam_batch(prefix, bart, prompts, 1, 12, 1.0) == greedy
    beams = beam_batch(prefix, bart, prompts, 3, 8, 0.8)
    assert beams == [beam_batch(prefix, bart, [p], 3, 8, 0.8)[0] for p in prompts]
    assert beams == beam_batch(FullForward(prefix), bart, prompts, 3, 8, 0.8)


class FullForward:
    """Decoding without any cache: every step re-runs the whole [prompt; generated] row alone."""

    def __init__(self, adapted) -> None:
        self.adapted = adapted

    def _logits(self, rows: list[list[int]]) -> torch.Tensor:
        with torch.no_grad():
            return torch.stack(
                [self.adapted(torch.tensor([r]), torch.ones(1, len(r)))[0, -1] for r in rows]
            )

    def prefill(self, ids, mask):
        state = _Rows([row[m.bool()].tolist() for row, m in zip(ids, mask)])
        return self._logits(state.rows), state

    def step(self, tokens, state):
        state.rows = [r + [int(t)] for r, t in zip(state.rows, tokens)]
        return self._logits(state.rows)


@dataclasses.dataclass
class _Rows:
    rows: list[list[int]]

    def repeat_interleave(self, times: int) -> None:
        self.rows = [r for r in self.rows for _ in range(times)]

    def select(self, rows: torch.Tensor, prompts=None) -> None:
        self.rows = [list(self.rows[int(i)]) for i in rows]


def test_xsum_constraints_hold_on_bart(bart):
    """R28's minimum length and n-gram blocking, greedy and beam, through `decode`."""
    prefix = strong_prefix(bart)
    assert (XSUM_DECODE.num_beams, XSUM_DECODE.no_repeat_ngram_size) == (6, 3)
    assert (XSUM_DECODE.min_new_tokens, XSUM_DECODE.max_new_tokens) == (11 - 2, 62 - 2)
    prompts = [encode_prompt(bart, s) for s in SOURCES]
    for beams in (1, 3):
        config = dataclasses.replace(
            XSUM_DECODE,
            num_beams=beams,
            max_new_tokens=14,
            min_new_tokens=6,
            no_repeat_ngram_size=2,
            batch_size=2,
        )
        generated = (
            greedy_batch(prefix, bart, prompts, 14, 6, 2)
            if beams == 1
            else beam_batch(prefix, bart, prompts, beams, 14, 0.8, 6, 2)
        )
        for tokens in generated:
            assert len(tokens) >= 6
            bigrams = list(zip(tokens, tokens[1:]))
            assert len(bigrams) == len(set(bigrams)), tokens
        outputs = decode(prefix, bart, SOURCES, config, progress=False).outputs
        assert outputs == [" ".join(bart.tokenizer.decode(g).split()) or "Error" for g in generated]


def test_stored_prefixes_reload(bart, tmp_path):
    from safetensors.torch import load_file, save_file

    prefix = strong_prefix(bart)
    save_file(prefix.stored_state(), tmp_path / "p.safetensors")
    again = Seq2SeqPrefixTuned(bart, PrefixConfig(prefix_len=P, reparam="flat")).eval()
    again.load_stored_state(load_file(tmp_path / "p.safetensors"))
    ids, mask, _ = batch(bart)
    assert torch.equal(again(ids, mask), prefix(ids, mask))


def test_bart_large_offline_is_a_clear_error(monkeypatch, tmp_path):
    import huggingface_hub.constants

    from benchmark.errors import ModelLoadError

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(ModelLoadError, match="tiny-bart"):
        load_model("bart-large")


def test_a_decoder_only_prefix_is_refused_not_silently_dropped(bart):
    with pytest.raises(UnsupportedModelError, match="encoder-decoder"):
        PrefixTuned(bart, PrefixConfig(prefix_len=2, mid_dim=8))


def test_tiny_bart_maps_the_suites_layout():
    loaded = load_model("tiny-bart")
    config = loaded.model.config
    assert loaded.family == "encoder-decoder"
    assert config.decoder_start_token_id == loaded.sep_id == ByteTokenizer.SEP
    assert (config.encoder_layers, config.decoder_layers, config.d_model) == (2, 2, 32)
    assert load_model("tiny-gpt2").family == "decoder"


# --- a real transformers BART tokenizer (byte-level BPE), tiny, written here -----------------------
BPE_MERGES = ["Ġ s", "Ġs u", "Ġsu m", "m a", "ma r", "i z", "iz e"]  # merges.txt lines, by rank


def tiny_bart_tokenizer(folder):
    """`transformers.BartTokenizer` over a 21-token vocabulary: BART's specials (<s>=0, <pad>=1,
    </s>=2, <unk>=3, as in bart-large), the byte-level characters of "summarize" and a space (Ġ),
    and merges that read " summarize" as Ġsum + mar + ize."""
    import json

    from transformers import BartTokenizer

    tokens = [
        "<s>",
        "<pad>",
        "</s>",
        "<unk>",
        *"Ġsumarize",
        *(merge.replace(" ", "") for merge in BPE_MERGES),
    ]
    vocab = {token: index for index, token in enumerate([*dict.fromkeys(tokens), "<mask>"])}
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    merges = "".join(merge + "\n" for merge in BPE_MERGES)
    (folder / "merges.txt").write_text("#version: 0.2\n" + merges, encoding="utf-8")
    return BartTokenizer.from_pretrained(folder)


def tiny_bart_for(tok):
    """A random 2+2-layer BART over `tok`'s vocabulary, with bart-large's special ids."""
    from transformers import BartConfig, BartForConditionalGeneration

    torch.manual_seed(0)
    config = BartConfig(
        vocab_size=len(tok),
        d_model=32,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=64,
        pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        decoder_start_token_id=tok.eos_token_id,  # BART's </s>
    )
    return BartForConditionalGeneration(config).eval()


def bart_with_real_tokenizer(tok) -> LoadedModel:
    """`tiny_bart_for(tok)` with its ids filled as `load_hub_bart` fills bart-large's."""
    return LoadedModel(
        name="tiny-bart-real-tokenizer",
        model=tiny_bart_for(tok),
        tokenizer=HFTokenizer(tok),
        eos_id=tok.eos_token_id,
        sep_id=tok.eos_token_id,  # the decoder start
        pad_id=tok.pad_token_id,
        source_affixes=((tok.bos_token_id,), (tok.eos_token_id,)),
        decoder_prompt=(tok.bos_token_id,),  # bart-large's forced_bos_token_id, <s>
    )


def test_real_word_init_with_a_real_bart_tokenizer(tmp_path):
    """The init text goes through the real transformers tokenizer class via `HFTokenizer` (which
    once crashed on an `add_special_tokens` keyword): no <s>/</s> around the words, P = their token
    count, and the prefixed BART runs on a row of that tokenizer."""
    tok = tiny_bart_tokenizer(tmp_path)
    words = HFTokenizer(tok).encode(" summarize")
    assert tok.convert_ids_to_tokens(words) == ["Ġsum", "mar", "ize"]
    assert not {tok.bos_token_id, tok.eos_token_id, tok.unk_token_id} & set(words)
    assert tok.encode(" summarize") == [tok.bos_token_id, *words, tok.eos_token_id]  # raw adds them
    assert HFTokenizer(tok).decode(words) == " summarize"

    loaded = bart_with_real_tokenizer(tok)
    torch.manual_seed(0)
    prefix = build_prefix(loaded, PrefixConfig(init_text="summarize", mid_dim=8))
    assert isinstance(prefix, Seq2SeqPrefixTuned)
    assert prefix.prefix_len == len(words) == 3
    assert all(g.embedding.num_embeddings == len(words) for g in prefix.groups.values())
    assert prefix.init_mse is not None and prefix.init_mse >= 0

    ids, mask, labels = collate([encode_pair(loaded, "summarize", "summarize", *LIMITS)], 1)
    assert ids[0].tolist() == [*words, loaded.sep_id, *words, loaded.eos_id]
    logits = prefix.eval()(ids, mask)
    assert logits.shape == (1, ids.shape[1], len(tok))
    seq_sum, counts = sequence_losses(logits, labels)
    assert int(counts) == len(words) + 1 and torch.isfinite(seq_sum).all()


def test_load_hub_bart_reads_a_folder_laid_out_as_bart_large(tmp_path):
    """`load_hub_bart` on a local folder like facebook/bart-large's: a BART tokenizer and a
    config.json with forced_bos_token_id and no generation_config.json. transformers 5 moves that
    id from the model config into the generation config; the decoder prompt must still be it."""
    import json

    from benchmark.models import load_hub_bart

    (tmp_path / "tokenizer").mkdir()
    tok = tiny_bart_tokenizer(tmp_path / "tokenizer")
    folder = tmp_path / "bart"
    model = tiny_bart_for(tok)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    (folder / "generation_config.json").unlink(missing_ok=True)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    x = torch.tensor([[tok.bos_token_id, *HFTokenizer(tok).encode(" summarize"), tok.eos_token_id]])
    with torch.no_grad():
        saved_logits = model(input_ids=x, decoder_input_ids=x).logits
    for forced in (tok.bos_token_id, tok.mask_token_id):  # bart-large's <s>; any other id
        config["forced_bos_token_id"] = forced
        (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
        loaded = load_hub_bart(str(folder))
        assert loaded.family == "encoder-decoder" and isinstance(loaded.tokenizer, HFTokenizer)
        assert (loaded.eos_id, loaded.sep_id, loaded.pad_id) == (2, 2, 1)  # as bart-large's
        assert loaded.source_affixes == ((tok.bos_token_id,), (tok.eos_token_id,))
        assert loaded.decoder_prompt == (forced,)
        assert loaded.tokenizer.encode(" summarize") == HFTokenizer(tok).encode(" summarize")
        with torch.no_grad():
            logits = loaded.model(input_ids=x, decoder_input_ids=x).logits
        assert torch.equal(logits, saved_logits)  # the saved weights, not a fresh init
