"""The standard FID: torchmetrics' FrechetInceptionDistance on torch-fidelity's InceptionV3 (the
TensorFlow FID network's weights), when those weights can be had.

The weights come from torch hub's cache (`torch.hub.get_dir()/checkpoints`) or, where the
internet is reachable, are downloaded into it by the library. Without either the FID is not
computed: `standard_fid` returns `fid: None` and a one-sentence reason, after one probe
of the weights' address that gives up within PROBE_SECONDS (no traceback, no download attempt).

Samples, training images (the floor) and test images (the reference) are compared at one count
n, the smallest of the three: a Frechet distance grows as the count shrinks, so it is read only
against its floor at the same n. Images are floats in [0, 1] (grey ones repeated to RGB), which
the network resizes to 299 x 299 itself.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import torch

SETTINGS = ("auto", "off")
PROBE_SECONDS = 2.0
BATCH_SIZE = 50
NOT_INSTALLED = "torchmetrics and torch-fidelity are not installed"


def weights_url() -> str:
    """Where torch-fidelity downloads its InceptionV3 weights from."""
    from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3

    return URL_INCEPTION_V3


def cached_weights(url: str) -> Path:
    """The file torch hub keeps a download of url in (load_state_dict_from_url's naming)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(url).path).name


def one_line(err: BaseException) -> str:
    reason = getattr(err, "reason", None)  # urllib's URLError wraps the socket's error
    text = str(reason if reason is not None else err).strip() or type(err).__name__
    return text.splitlines()[0].rstrip(".")


def unreachable(url: str, seconds: float = PROBE_SECONDS) -> str | None:
    """None when url's server answers a HEAD request within seconds, else why not (one line).

    Any HTTP answer counts, an error status too: the download itself then says what is wrong.
    The request runs in a daemon thread the caller waits for at most `seconds`: a name lookup
    that hangs (which urllib's timeout does not cover) cannot hold the job."""
    outcome: dict[str, str | None] = {}

    def probe() -> None:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"),
                                        timeout=seconds):
                outcome["error"] = None
        except urllib.error.HTTPError:
            outcome["error"] = None
        except Exception as err:  # any other failure means: not reachable
            outcome["error"] = one_line(err)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(seconds)
    return outcome.get("error", f"no answer within {seconds:g} s")


def inception_metric(device: torch.device | str = "cpu"):
    """torchmetrics' FrechetInceptionDistance (2048 pool features, float input in [0, 1],
    real features kept across reset) on device, or None and the reason it cannot be had."""
    try:
        url = weights_url()
    except ImportError as err:
        return None, f"{NOT_INSTALLED} ({one_line(err)})."
    cache = cached_weights(url)
    if not cache.is_file():
        why = unreachable(url)
        if why is not None:
            return None, (f"Inception weights not available offline: {cache} is missing and "
                          f"{url} cannot be reached ({why}).")
    try:
        from torchmetrics.image.fid import FrechetInceptionDistance

        metric = FrechetInceptionDistance(feature=2048, normalize=True,
                                          reset_real_features=False)
    except ImportError as err:
        return None, f"{NOT_INSTALLED} ({one_line(err)})."
    except Exception as err:  # a broken download or file: say so, go on
        return None, f"Inception weights could not be loaded from {cache}: {one_line(err)}."
    return metric.to(device), None


def as_rgb(images: torch.Tensor) -> torch.Tensor:
    images = images.float().clamp(0, 1)
    return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images


@torch.no_grad()
def feed(metric, images: torch.Tensor, real: bool, batch_size: int = BATCH_SIZE) -> None:
    device = metric.device
    for lo in range(0, len(images), batch_size):
        metric.update(as_rgb(images[lo : lo + batch_size]).to(device), real=real)


def standard_fid(samples: torch.Tensor, train_images: torch.Tensor,
                 test_images: torch.Tensor, setting: str = "auto",
                 device: torch.device | str = "cpu", batch_size: int = BATCH_SIZE) -> dict:
    """The FID of the samples to the test images and its floor (as many training images), all
    at n = the smallest count, or fid None and the reason: {"fid", "fid_floor", "fid_images",
    "fid_reason"} (the last None when the FID was computed). Images [N, C, H, W] in [0, 1]."""
    if setting not in SETTINGS:
        raise ValueError(f"the FID setting must be one of {SETTINGS}, not {setting!r}")
    n = min(len(samples), len(train_images), len(test_images))
    missing = {"fid": None, "fid_floor": None, "fid_images": n}
    if setting == "off":
        return {**missing, "fid_reason": "deep_dive.fid is off."}
    if n < 2:
        return {**missing, "fid_reason": f"the FID needs at least 2 images per set, not {n}."}
    metric, why = inception_metric(device)
    if metric is None:
        return {**missing, "fid_reason": why}
    feed(metric, test_images[:n], True, batch_size)
    feed(metric, samples[:n], False, batch_size)
    fid = float(metric.compute())
    metric.reset()  # keeps the test images' features
    feed(metric, train_images[:n], False, batch_size)
    return {"fid": fid, "fid_floor": float(metric.compute()), "fid_images": n,
            "fid_reason": None}
