"""The trainer: seeded runs repeat exactly, the loss covers the target only, NaN stops the run."""

from __future__ import annotations

import pytest
import torch

from benchmark.data import Example
from benchmark.layout import IGNORE, encode_pair
from benchmark.methods.finetune import FinetuneConfig, Finetuned
from benchmark.methods.prefix import PrefixConfig, PrefixTuned
from benchmark.models import load_model
from benchmark.spec import TrainConfig
from benchmark.train import TrainingDiverged, reduce_loss, train

from .helpers import LIMITS

PAIRS = [
    Example("name : Aromi | Type : coffee shop", ("Aromi is a coffee shop.",)),
    Example("name : X | food : Thai", ("X serves Thai food.",)),
] * 3


def run_once(seed: int) -> list[float]:
    loaded = load_model("tiny-llama")
    torch.manual_seed(seed)
    prefix = PrefixTuned(loaded, PrefixConfig(prefix_len=2, mid_dim=8))
    config = TrainConfig(max_steps=4, batch_size=2, lr=1e-3, warmup_steps=1, seed=seed)
    return train(prefix, loaded, PAIRS, PAIRS[:2], config, progress=False).losses


def test_same_seed_same_losses_other_seed_other_losses():
    assert run_once(3) == run_once(3)
    assert run_once(3) != run_once(4)


def test_labels_cover_target_and_eos_only():
    loaded = load_model("tiny-gpt2")
    ids, labels = encode_pair(loaded, "src", "tgt", *LIMITS)
    source_len = len(b" src")
    assert ids[source_len] == loaded.sep_id and ids[-1] == loaded.eos_id
    assert labels[: source_len + 1] == [IGNORE] * (source_len + 1)  # source and separator masked
    assert labels[source_len + 1 :] == ids[source_len + 1 :]


def test_loss_reductions():
    seq_sum, counts = torch.tensor([6.0, 2.0]), torch.tensor([3, 1])
    assert float(reduce_loss(seq_sum, counts, "sequence_sum")) == 4.0  # mean of per-sequence sums
    assert float(reduce_loss(seq_sum, counts, "token_mean")) == 2.0  # 8 / 4 tokens


def test_nan_loss_raises_a_clear_error(monkeypatch):
    loaded = load_model("tiny-gpt2")
    model = Finetuned(loaded, FinetuneConfig())
    monkeypatch.setattr(
        "benchmark.train.target_losses",
        lambda logits, batch: (torch.full((batch.rows,), float("nan")), torch.ones(1)),
    )
    with pytest.raises(TrainingDiverged, match="step 1"):
        train(model, loaded, PAIRS, [], TrainConfig(max_steps=2, batch_size=2), progress=False)


def test_best_dev_checkpoint_is_restored():
    loaded = load_model("tiny-gpt2")
    torch.manual_seed(0)
    prefix = PrefixTuned(loaded, PrefixConfig(prefix_len=2, mid_dim=8))
    config = TrainConfig(max_steps=6, batch_size=2, lr=5e-2, warmup_steps=0, eval_every=2)
    result = train(prefix, loaded, PAIRS, PAIRS[:2], config, progress=False)
    best = min(result.dev_losses, key=lambda item: item[1])
    assert result.best_step == best[0]
    from benchmark.train import dev_loss, train_batch

    dev = [
        train_batch(
            [encode_pair(loaded, e.source, e.references[0], *LIMITS) for e in PAIRS[:2]],
            loaded.pad_id,
        )
    ]
    assert dev_loss(prefix, dev) == pytest.approx(best[1], abs=1e-5)


def test_best_earlier_dev_checkpoint_is_restored(monkeypatch):
    """The best dev loss comes at step 4 of 8: the parameters returned are exactly those of step
    4, not the last step's (the restore branch actually runs)."""
    loaded = load_model("tiny-gpt2")
    torch.manual_seed(0)
    prefix = PrefixTuned(loaded, PrefixConfig(prefix_len=2, mid_dim=8))
    scripted = iter([1.0, 0.5, 2.0, 3.0])
    snapshots = []

    def scripted_dev_loss(adapted, batches, precision="fp32"):
        snapshots.append([p.detach().clone() for p in adapted.trainable_parameters()])
        return next(scripted)

    monkeypatch.setattr("benchmark.train.dev_loss", scripted_dev_loss)
    config = TrainConfig(max_steps=8, batch_size=2, lr=1e-2, warmup_steps=0, eval_every=2)
    result = train(prefix, loaded, PAIRS, PAIRS[:2], config, progress=False)
    assert result.dev_losses == [(2, 1.0), (4, 0.5), (6, 2.0), (8, 3.0)]
    assert (result.best_step, result.steps, result.best_dev_loss) == (4, 8, 0.5)
    after = [p.detach() for p in prefix.trainable_parameters()]
    assert len(snapshots) == 4 and len(after) == len(snapshots[1])
    assert all(torch.equal(p, best) for p, best in zip(after, snapshots[1]))
    assert any(not torch.equal(p, last) for p, last in zip(after, snapshots[3]))
