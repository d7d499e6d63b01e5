"""The standard FID (evaluation.fid): without Inception weights it is null with the reason, fast
and quiet; with a feature network (a tiny one standing in for Inception) it is torchmetrics'
Frechet distance of the samples and of the floor at one count."""

import sys
import time

import pytest
import torch
from torch import nn

from diffusionlab.evaluation import fid
from diffusionlab.evaluation.frechet import feature_frechet_distance

WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"  # torch-fidelity's download
NOWHERE = f"http://127.0.0.1:9/{WEIGHTS_FILE}"  # the discard port: refused at once


class TinyFeatures(nn.Module):
    """2x2 block means of RGB images: 12 features, standing in for Inception's 2048."""

    def forward(self, x):
        assert x.shape[1] == 3 and x.dtype == torch.float32  # grey repeated, floats in [0, 1]
        return nn.functional.adaptive_avg_pool2d(x, 2).flatten(1)


def images(n, seed, channels=1, size=8):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, channels, size, size, generator=g)


@pytest.fixture
def empty_hub(monkeypatch, tmp_path):
    """torch hub's cache is an empty folder."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    return tmp_path / "hub" / "checkpoints"


def test_without_weights_the_fid_is_null_with_the_reason(monkeypatch, empty_hub, capfd):
    monkeypatch.setattr(fid, "weights_url", lambda: NOWHERE)
    start = time.perf_counter()
    result = fid.standard_fid(images(6, 0), images(20, 1), images(10, 2))
    assert time.perf_counter() - start < 2
    assert result["fid"] is None and result["fid_floor"] is None and result["fid_images"] == 6
    reason = result["fid_reason"]
    assert reason.startswith("Inception weights not available offline: ")
    assert str(empty_hub / WEIGHTS_FILE) in reason and NOWHERE in reason
    assert "\n" not in reason and reason.endswith(".")
    out, err = capfd.readouterr()
    assert out == err == ""  # no traceback, no download message


def test_the_probe_gives_up_in_time(monkeypatch):
    def hang(*args, **kwargs):
        time.sleep(30)

    monkeypatch.setattr(fid.urllib.request, "urlopen", hang)
    start = time.perf_counter()
    assert fid.unreachable(NOWHERE, seconds=0.2) == "no answer within 0.2 s"
    assert time.perf_counter() - start < 1


class BrokenLibrary:
    """torchmetrics.image.fid as a module whose FID class fails to read its weights, as
    torch.load does on a damaged download."""

    class FrechetInceptionDistance:
        def __init__(self, **kwargs):
            assert kwargs == {"feature": 2048, "normalize": True, "reset_real_features": False}
            raise RuntimeError("invalid load key, 'n'.\nmore lines of the error")


def test_a_server_that_answers_with_an_error_status_is_reachable(monkeypatch):
    def forbidden(request, timeout):
        assert request.get_method() == "HEAD" and timeout == 0.5
        raise fid.urllib.error.HTTPError(request.full_url, 403, "Forbidden", {}, None)

    monkeypatch.setattr(fid.urllib.request, "urlopen", forbidden)
    assert fid.unreachable(NOWHERE, seconds=0.5) is None


def test_cached_weights_are_used_without_probing_and_a_broken_file_is_named(monkeypatch,
                                                                            empty_hub, capfd):
    def probe(url, seconds=fid.PROBE_SECONDS):
        raise AssertionError("the cached file must be used, not the internet")

    monkeypatch.setattr(fid, "unreachable", probe)
    monkeypatch.setitem(sys.modules, "torchmetrics.image.fid", BrokenLibrary)
    empty_hub.mkdir(parents=True)
    (empty_hub / WEIGHTS_FILE).write_bytes(b"not a torch file")
    metric, reason = fid.inception_metric()
    assert metric is None
    assert reason == (f"Inception weights could not be loaded from {empty_hub / WEIGHTS_FILE}: "
                      "invalid load key, 'n'.")  # one line, one full stop
    assert capfd.readouterr() == ("", "")


def test_off_computes_nothing(monkeypatch):
    monkeypatch.setattr(fid, "inception_metric", lambda device: pytest.fail("computed"))
    result = fid.standard_fid(images(4, 0), images(4, 1), images(4, 2), setting="off")
    assert result == {"fid": None, "fid_floor": None, "fid_images": 4,
                      "fid_reason": "deep_dive.fid is off."}
    with pytest.raises(ValueError, match="auto"):
        fid.standard_fid(images(4, 0), images(4, 1), images(4, 2), setting="on")


def tiny_metric(device="cpu"):
    from torchmetrics.image.fid import FrechetInceptionDistance

    return FrechetInceptionDistance(feature=TinyFeatures(), normalize=True,
                                    reset_real_features=False).to(device), None


def test_with_a_feature_network_the_fid_and_its_floor_are_numbers(monkeypatch):
    monkeypatch.setattr(fid, "inception_metric", tiny_metric)
    samples, train, test = images(30, 0) * 0.5, images(80, 1), images(45, 2)
    result = fid.standard_fid(samples, train, test, batch_size=7)
    assert result["fid_images"] == 30 and result["fid_reason"] is None

    def features(x):
        return TinyFeatures()(x.expand(-1, 3, -1, -1))

    # All three sets at 30 images: the samples' and the training images' against the test's.
    expected = feature_frechet_distance(features(samples), features(test[:30]))
    floor = feature_frechet_distance(features(train[:30]), features(test[:30]))
    assert result["fid"] == pytest.approx(expected, rel=1e-3)
    assert result["fid_floor"] == pytest.approx(floor, rel=1e-3)
    assert result["fid"] > 10 * result["fid_floor"]  # darkened samples lie far off


def test_samples_like_the_test_images_reach_zero(monkeypatch):
    monkeypatch.setattr(fid, "inception_metric", tiny_metric)
    test = images(12, 3, channels=3)
    result = fid.standard_fid(test.clone(), images(12, 4, channels=3), test)
    assert result["fid"] == pytest.approx(0, abs=1e-6) and result["fid_floor"] > 0
