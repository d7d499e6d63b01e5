"""Pixel against latent diffusion on Fashion-MNIST-shaped data (1 x 28 x 28, 10 classes).

Per device: training images/s of the autoencoder (latent.autoencoder_loss and one Adam step)
and of the class-conditioned DDPM on pixels and on latents (training.train_step, same UNet
arch and width, batch 64); sampling seconds per image (sampling.sample, CFG, T steps) with the
latent run's decode included; parameter counts. Each measurement runs 1 untimed warm-up step
then `--steps` timed ones; the weights are the seeded initial ones (speed does not depend on
their values). Synthetic images: throughput does not depend on their content.

    python -m benchmarks.latent_throughput --threads 1 --markdown benchmarks/out/latent.md
"""

from __future__ import annotations

import argparse
import time

import torch

from diffusionlab.latent import (
    AutoencoderSettings,
    autoencoder_loss,
    autoencoder_spec,
    build_autoencoder,
    decode_latents,
    latent_shape,
)
from diffusionlab.models import build_from_spec, model_spec
from diffusionlab.part_b import sample_classes
from diffusionlab.sampling import sample
from diffusionlab.training import TrainSettings, train_step

from . import common

COLUMNS = ["model", "input", "parameters", "device", "train_images_per_s",
           "sample_s_per_image"]


def timed(step, steps: int, device: torch.device) -> float:
    """Seconds per call of step() after one untimed warm-up call."""
    step()
    common.synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    common.synchronize(device)
    return (time.perf_counter() - start) / steps


def parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def measure(args, device: torch.device) -> list[dict]:
    g = torch.Generator().manual_seed(0)
    images = torch.rand(args.batch_size, 1, 28, 28, generator=g).to(device)
    labels = (torch.arange(args.batch_size) % 10).to(device)
    ae_spec = autoencoder_spec(channels=1, image_size=28, block_out_channels=args.ae_widths,
                               latent_channels=args.latent_channels)
    torch.manual_seed(0)
    ae = build_autoencoder(ae_spec).to(device)
    ae_opt = torch.optim.Adam(ae.parameters(), lr=1e-3)
    ae_settings = AutoencoderSettings(epochs=1, batch_size=args.batch_size, lr=1e-3, seed=0)
    ae_g = torch.Generator(device=device).manual_seed(0)

    def ae_step():
        loss = autoencoder_loss(ae, ae_settings, images, ae_g)
        ae_opt.zero_grad(set_to_none=True)
        loss.backward()
        ae_opt.step()

    rows = [{"model": f"autoencoder {ae_spec['block_out_channels']}",
             "input": "1x28x28 (padded 32x32)", "parameters": parameters(ae),
             "device": str(device),
             "train_images_per_s": round(args.batch_size / timed(ae_step, args.steps, device), 1),
             "sample_s_per_image": ""}]
    settings = TrainSettings(kind="class", hidden=args.hidden, epochs=1,
                             batch_size=args.batch_size, lr=1e-3, seed=0,
                             num_steps=args.num_steps)
    rows.append(ddpm_row(args, settings, "pixel", (1, 28, 28), labels, device))
    rows.append(ddpm_row(args, settings, "latent", latent_shape(ae_spec), labels, device, ae))
    return rows


def ddpm_row(args, settings: TrainSettings, space: str, shape: tuple[int, int, int],
             labels: torch.Tensor, device: torch.device, autoencoder=None) -> dict:
    """Training images/s and sampling s/image of the class-conditioned DDPM on `shape`; the
    latent run's sampling includes decoding with `autoencoder`."""
    spec = model_spec("class", channels=shape[0], image_size=shape[1], num_classes=10,
                      hidden=args.hidden)
    torch.manual_seed(0)
    unet = build_from_spec(spec).to(device)
    opt = torch.optim.Adam(unet.parameters(), lr=1e-3)
    x = torch.randn(args.batch_size, *shape, generator=torch.Generator().manual_seed(0))
    x = x.to(device)
    g = torch.Generator(device=device).manual_seed(0)
    schedule = settings.schedule()
    train_s = timed(lambda: train_step(unet, opt, settings, x, labels, g, schedule),
                    args.steps, device)
    classes = sample_classes(args.samples // 10)

    def draw():
        out, _ = sample(unet, schedule, len(classes), classes=classes, guidance=5.0,
                        generator=torch.Generator().manual_seed(0), device=device)
        if autoencoder is not None:
            decode_latents(out.to(device), autoencoder, 1.0)

    sample_s = timed(draw, 1, device)
    return {"model": f"{space} DDPM (course class, D={args.hidden})",
            "input": "x".join(map(str, shape)), "parameters": parameters(unet),
            "device": str(device), "train_images_per_s": round(args.batch_size / train_s, 1),
            "sample_s_per_image": round(sample_s / len(classes), 4)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.add_common_arguments(parser)
    parser.add_argument("--steps", type=int, default=3, help="timed training steps")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=64, help="the course UNet's width D")
    parser.add_argument("--ae-widths", type=int, nargs="+", default=[32, 64, 64],
                        help="the autoencoder's block_out_channels (x4 by default)")
    parser.add_argument("--latent-channels", type=int, default=4)
    parser.add_argument("--num-steps", type=int, default=300, help="DDPM T")
    parser.add_argument("--samples", type=int, default=40, help="a multiple of 10")
    args = parser.parse_args(argv)
    common.setup_threads(args.threads)
    rows, facts = [], None
    for device in common.devices(args.devices):
        facts = common.machine_facts(device)
        rows += measure(args, device)
    common.report(rows, COLUMNS, "Pixel against latent diffusion (Fashion-MNIST shape)",
                  common.facts_line(facts) + f" · T = {args.num_steps}, CFG, batch "
                  f"{args.batch_size}", args.csv, args.markdown)


if __name__ == "__main__":
    main()
