"""Training is deterministic, resumable after a crash (and only then), and writes loadable
checkpoints; the moving average of the weights and the one-cycle schedule resume exactly."""

import functools
import importlib.util
from pathlib import Path

import pytest
import torch
import yaml
from torch.optim.optimizer import register_optimizer_step_pre_hook

from diffusionlab import training
from diffusionlab.config import ConfigError, validate
from diffusionlab.data import MNIST
from diffusionlab.jobrunner import UserError
from diffusionlab.rule_params import train_settings
from diffusionlab.training import (
    TrainSettings,
    discard_resume_state,
    load_checkpoint,
    make_optimizer,
    new_model,
    steps_per_epoch,
    train,
)
from diffusionlab.unet import ClassConditionalUNet

ROOT = Path(__file__).resolve().parents[1]


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


def crash_after(k):
    def after_epoch(epoch):
        if epoch == k:
            raise Crash
    return after_epoch


def crashed_run(s, data, workdir, **kw):
    """A run killed after its first epoch: its resume state stays in `workdir`."""
    with pytest.raises(Crash):
        train(s, *data, workdir, progress=False, after_epoch=crash_after(1), **kw)
    assert (workdir / "state.pt").exists()


def test_changed_digits_start_afresh(tmp_path, digits, capsys):
    s = settings()
    crashed_run(s, digits, tmp_path)
    images, labels = digits
    other = images.clone()
    other[0, 0, 0] ^= 1  # one pixel of one digit
    capsys.readouterr()
    result = train(s, other, labels, tmp_path, progress=False)
    assert "resuming" not in capsys.readouterr().out
    assert result["losses"] == train(s, other, labels, tmp_path / "clean", progress=False)[
        "losses"]


def test_changed_code_starts_afresh(tmp_path, digits, capsys):
    s = settings()
    crashed_run(s, digits, tmp_path, code="one")
    capsys.readouterr()
    train(s, *digits, tmp_path, progress=False, code="two")
    assert "resuming" not in capsys.readouterr().out


def test_a_finished_training_leaves_no_state(tmp_path, digits, capsys):
    s = settings(epochs=2, checkpoint_epochs=(2,))
    train(s, *digits, tmp_path / "resume", progress=False)
    discard_resume_state(tmp_path / "resume")
    assert not (tmp_path / "resume").exists()
    capsys.readouterr()
    again = train(s, *digits, tmp_path / "resume", progress=False)
    assert "resuming" not in capsys.readouterr().out and len(again["losses"]) == 2 * 3


def test_a_corrupt_state_is_discarded_with_a_warning(tmp_path, digits, capsys):
    s = settings()
    clean = train(s, *digits, tmp_path / "clean", progress=False)
    crashed_run(s, digits, tmp_path / "crashed")
    state = tmp_path / "crashed" / "state.pt"
    state.write_bytes(state.read_bytes()[:100])  # truncated, as by a full disk
    capsys.readouterr()
    resumed = train(s, *digits, tmp_path / "crashed", progress=False)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "resuming" not in out
    assert out.startswith(f"warning: discarding the unreadable resume state {state}")
    assert resumed["losses"] == clean["losses"]


@pytest.mark.parametrize("content", [b"not a checkpoint", "torch:{}"])
def test_a_corrupt_checkpoint_names_itself_and_its_rule(tmp_path, content):
    path = tmp_path / "results" / "part_b" / "time" / "checkpoints" / "epoch5.pt"
    path.parent.mkdir(parents=True)
    if content == "torch:{}":
        torch.save({"weights": torch.zeros(2)}, path)  # a PyTorch file, not a checkpoint
    else:
        path.write_bytes(content)
    with pytest.raises(UserError) as err:
        load_checkpoint(path)
    message = str(err.value)
    assert str(path) in message and "delete it and rerun" in message
    assert "rule train_time" in message and "weights_only" not in message


def train_script():
    spec = importlib.util.spec_from_file_location("train_script", ROOT / "scripts" / "train.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_train_job_resumes_only_a_killed_run_of_the_same_code(tmp_path, digits, capsys,
                                                                   monkeypatch):
    """scripts/train.py: killed and rerun unchanged, it resumes; rerun after a code input
    changed, or after it finished, it trains afresh; a finished job leaves no state."""
    job = train_script()
    data, module = tmp_path / "mnist.pt", tmp_path / "module.py"
    MNIST(*digits, *digits, meta={"train_digits": 40}).save(data)
    module.write_text("A = 1\n")
    raw = {k: v for k, v in vars(settings()).items() if k not in (
        "channels_last", "autocast_bf16", "compile")}
    performance = {"precision": "fp32", "channels_last": False, "compile": False}
    workdir = tmp_path / "resume"

    def run(crash=False):
        real = training.train
        if crash:
            monkeypatch.setattr(training, "train",
                                functools.partial(real, after_epoch=crash_after(1)))
        capsys.readouterr()
        try:
            job.main(raw, performance, "cpu", 1, str(data), [str(module)],
                     [str(tmp_path / "e1.pt"), str(tmp_path / "e3.pt")],
                     str(tmp_path / "losses.csv"), str(tmp_path / "info.json"), str(workdir))
        finally:
            monkeypatch.setattr(training, "train", real)
        return capsys.readouterr().out

    with pytest.raises(Crash):
        run(crash=True)
    assert "resuming class training after epoch 1" in run()
    assert not workdir.exists() and (tmp_path / "e3.pt").exists()
    finished = (tmp_path / "e3.pt").read_bytes()
    assert "resuming" not in run()  # finished, then rerun (--forcerun)
    assert (tmp_path / "e3.pt").read_bytes() == finished
    with pytest.raises(Crash):
        run(crash=True)
    module.write_text("A = 2\n")
    assert "resuming" not in run()


def test_ema_is_the_documented_average_of_the_weights(tmp_path, digits):
    """One step per epoch (a batch of all 40 digits) and a checkpoint each epoch: the n-th
    checkpoint holds the trained weights w_n and the average, which must be
    ema_n = d * ema_{n-1} + (1 - d) * w_n, d = min(decay, n / (9 + n)), ema_0 = w_0."""
    decay = 0.2  # d: 0.1, 0.18, then the decay itself
    s = settings(kind="time", batch_size=40, epochs=4, checkpoint_epochs=(1, 2, 3, 4),
                 ema_decay=decay)
    result = train(s, *digits, tmp_path, progress=False)
    names = [k for k, _ in new_model(s).named_parameters()]
    ema = {k: new_model(s).state_dict()[k] for k in names}
    for n in range(1, 5):
        ck = torch.load(result["checkpoints"][n], weights_only=True)
        d = min(decay, n / (9 + n))
        ema = {k: d * ema[k] + (1 - d) * ck["raw_model"][k] for k in names}
        for k in names:
            torch.testing.assert_close(ck["model"][k], ema[k], rtol=1e-5, atol=1e-7)
        for k, v in ck["raw_model"].items():
            if k not in names:  # buffers: BatchNorm statistics are copied, not averaged
                assert torch.equal(ck["model"][k], v), k
    assert not torch.equal(ck["model"][names[0]], ck["raw_model"][names[0]])
    assert isinstance(load_checkpoint(result["checkpoints"][4]), torch.nn.Module)


@pytest.mark.parametrize(("lr_schedule", "ema_decay"),
                         [("exponential", 0.9), ("onecycle", None), ("onecycle", 0.9)])
def test_resume_is_bit_exact_with_ema_and_onecycle(tmp_path, digits, lr_schedule, ema_decay):
    s = settings(lr_schedule=lr_schedule, ema_decay=ema_decay)
    clean = train(s, *digits, tmp_path / "clean", progress=False)
    crashed_run(s, digits, tmp_path / "crashed")
    resumed = train(s, *digits, tmp_path / "crashed", progress=False)
    assert resumed["losses"] == clean["losses"]
    for epoch in (1, 3):
        a, b = (torch.load(r["checkpoints"][epoch], weights_only=True) for r in (resumed, clean))
        assert_same_weights(a["model"], b["model"])
        if ema_decay is not None:
            assert_same_weights(a["raw_model"], b["raw_model"])


def test_onecycle_warms_up_then_decays_per_step(tmp_path, digits):
    s = settings(lr_schedule="onecycle", lr=1e-3, epochs=3, checkpoint_epochs=())
    lrs = []  # the learning rate of every optimiser step
    hook = register_optimizer_step_pre_hook(
        lambda opt, args, kwargs: lrs.append(opt.param_groups[0]["lr"]))
    try:
        train(s, *digits, tmp_path, progress=False)
    finally:
        hook.remove()
    # 3 epochs of 3 steps: 30% warm-up from lr / 25 to lr, cosine decay to lr / 25 / 1e4
    peak = lrs.index(max(lrs))
    assert len(lrs) == 9 and 0 < peak < 4
    assert lrs[0] == pytest.approx(4e-5) and max(lrs) > 0.8e-3
    assert lrs[-1] == pytest.approx(4e-9)
    assert lrs[: peak + 1] == sorted(lrs[: peak + 1])
    assert lrs[peak:] == sorted(lrs[peak:], reverse=True)


def test_steps_per_epoch_skip_a_last_batch_of_one():
    assert [steps_per_epoch(n, 16) for n in (32, 33, 34, 40)] == [2, 2, 3, 3]


def test_bad_training_settings_are_refused():
    with pytest.raises(ValueError, match="lr_schedule"):
        settings(lr_schedule="cosine")
    with pytest.raises(ValueError, match="ema_decay"):
        settings(ema_decay=1.0)


def reference_config():
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def test_reference_config_keeps_the_course_schedule_without_ema():
    for model in ("time", "class"):
        s = train_settings(reference_config(), model)
        assert (s["lr_schedule"], s["lr_decay_total"], s["ema_decay"]) == (
            "exponential", 0.1, None)


def test_schedule_and_ema_settings_reach_the_job_and_are_validated():
    config = reference_config()
    config["part_b"]["time"].update(lr_schedule="onecycle", ema_decay=0.999)
    validate(config, ROOT / "schemas" / "config.schema.yaml")
    s = train_settings(config, "time")
    assert (s["lr_schedule"], s["ema_decay"]) == ("onecycle", 0.999)
    assert "lr_decay_total" not in s  # onecycle does not read it: no param to rerun on
    TrainSettings(**s)
    for key, value in (("lr_schedule", "cosine"), ("ema_decay", 1.0), ("ema_decay", -0.1)):
        bad = reference_config()
        bad["part_b"]["class"][key] = value
        with pytest.raises(ConfigError, match=f"part_b.class.{key}"):
            validate(bad, ROOT / "schemas" / "config.schema.yaml")


def test_adam_is_fused_on_the_cpu_and_takes_the_plain_steps():
    """make_optimizer's fused Adam: the same updates as the per-tensor loop, to float
    rounding, over a few steps of the one-cycle schedule (which also moves Adam's beta1)."""
    s = settings(kind="time", lr_schedule="onecycle", epochs=2, checkpoint_epochs=(2,))
    models = [new_model(s) for _ in range(2)]
    models[1].load_state_dict(models[0].state_dict())
    fused, fused_sched = make_optimizer(models[0], s, epoch_steps=3)
    assert fused.defaults["fused"] is True
    plain = torch.optim.Adam(models[1].parameters(), lr=s.lr)
    plain_sched = torch.optim.lr_scheduler.OneCycleLR(plain, max_lr=s.lr, total_steps=6)
    x, t = torch.randn(4, 1, 28, 28), torch.rand(4)
    for _ in range(5):
        for model, opt, sched in ((models[0], fused, fused_sched), (models[1], plain, plain_sched)):
            opt.zero_grad()
            model(x, t).square().mean().backward()
            opt.step()
            sched.step()
    # Compared as functions: a convolution's bias before a batch norm has no effect and a
    # gradient of float noise, which Adam's normalisation turns into steps of either sign.
    with torch.no_grad():
        outputs = [model(x, t) for model in models]
    assert not torch.equal(outputs[0], new_model(s)(x, t))  # training moved the weights
    torch.testing.assert_close(outputs[0], outputs[1], atol=1e-5, rtol=1e-4)
