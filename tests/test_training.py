"""Training is deterministic, resumable after a crash, and writes loadable checkpoints."""

import pytest
import torch

from diffusionlab.training import TrainSettings, load_checkpoint, train
from diffusionlab.unet import ClassConditionalUNet


@pytest.fixture(scope="module")
def digits():
    g = torch.Generator().manual_seed(0)
    images = (torch.rand(40, 28, 28, generator=g) * 255).to(torch.uint8)
    return images, torch.arange(40) % 10


def settings(**kw):
    base = dict(kind="class", hidden=4, epochs=3, batch_size=16, lr=1e-3, seed=3,
                lr_decay_total=0.1, num_steps=20, checkpoint_epochs=(1, 3))
    return TrainSettings(**{**base, **kw})


def weights(path):
    return torch.load(path, weights_only=True)["model"]


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


class Crash(Exception):
    pass


@pytest.mark.parametrize("kind", ["unconditional", "time", "class"])
def test_two_runs_give_identical_weights(tmp_path, digits, kind):
    s = settings(kind=kind)
    one = train(s, *digits, tmp_path / "one", progress=False)
    two = train(s, *digits, tmp_path / "two", progress=False)
    assert one["losses"] == two["losses"]
    assert_same_weights(weights(one["checkpoints"][3]), weights(two["checkpoints"][3]))
    assert (tmp_path / "one" / "epoch_003.pt").read_bytes() == (
        tmp_path / "two" / "epoch_003.pt").read_bytes()


def test_a_crashed_run_resumes_and_ends_with_the_same_weights(tmp_path, digits, capsys):
    s = settings()
    clean = train(s, *digits, tmp_path / "clean", progress=False)

    def crash_after_first_epoch(epoch):
        if epoch == 1:
            raise Crash

    with pytest.raises(Crash):
        train(s, *digits, tmp_path / "crashed", progress=False, after_epoch=crash_after_first_epoch)
    capsys.readouterr()
    resumed = train(s, *digits, tmp_path / "crashed", progress=False)
    assert "resuming class training after epoch 1" in capsys.readouterr().out
    assert resumed["losses"] == clean["losses"]
    for epoch in (1, 3):
        assert_same_weights(weights(resumed["checkpoints"][epoch]),
                            weights(clean["checkpoints"][epoch]))


def test_changed_settings_start_afresh(tmp_path, digits, capsys):
    train(settings(epochs=2, checkpoint_epochs=(2,)), *digits, tmp_path, progress=False)
    capsys.readouterr()
    other = train(settings(epochs=2, lr=5e-4, checkpoint_epochs=(2,)), *digits, tmp_path,
                  progress=False)
    assert "resuming" not in capsys.readouterr().out
    assert len(other["losses"]) == 2 * 3  # two epochs of three batches, nothing reused


def test_checkpoint_loads_with_weights_only(tmp_path, digits):
    result = train(settings(epochs=1, checkpoint_epochs=(1,)), *digits, tmp_path, progress=False)
    ck = torch.load(result["checkpoints"][1], weights_only=True)
    assert ck["epoch"] == 1 and ck["kind"] == "class" and ck["settings"]["lr"] == 1e-3
    model = load_checkpoint(result["checkpoints"][1])
    assert isinstance(model, ClassConditionalUNet) and not model.training


def test_learning_rate_decays_to_a_tenth_over_the_run(tmp_path, digits):
    s = settings(epochs=4, checkpoint_epochs=())
    train(s, *digits, tmp_path, progress=False)
    state = torch.load(tmp_path / "state.pt", weights_only=True)
    assert state["optimizer"]["param_groups"][0]["lr"] == pytest.approx(1e-4, rel=1e-9)


def test_loss_decreases_on_a_learnable_problem(tmp_path, digits):
    s = settings(kind="unconditional", hidden=8, epochs=8, lr=3e-3, sigma=0.5,
                 checkpoint_epochs=())
    losses = [r[2] for r in train(s, *digits, tmp_path, progress=False)["losses"]]
    assert sum(losses[-3:]) < 0.5 * sum(losses[:3])


def test_checkpoint_epochs_outside_the_run_are_refused():
    with pytest.raises(ValueError, match="outside"):
        settings(epochs=2, checkpoint_epochs=(5,))
