"""Rule latent_encode: the latent cache of a data set, made once per autoencoder checkpoint:
both splits' posterior means, labels and the scale (1 / std of the training latents)."""

from diffusionlab.data import load_dataset
from diffusionlab.jobrunner import run_job, write_json
from diffusionlab.latent import encode_dataset, latent_data_meta, load_autoencoder, save_latents
from diffusionlab.runtime import pick_device, set_threads
from diffusionlab.torchfiles import read_torch_dict


def main(autoencoder, data, latents, info, *, batch_size, device):
    ck = read_torch_dict(autoencoder, {"autoencoder", "spec", "epoch"},
                         "an autoencoder checkpoint")
    model = load_autoencoder(ck, pick_device(device))
    cache = encode_dataset(model, load_dataset(data), batch_size,
                           autoencoder_meta={"checkpoint": autoencoder, "epoch": ck["epoch"]})
    save_latents(cache, latents)
    z = cache["train_latents"] * cache["scale"]
    print(f"scale {cache['scale']:.4f}: scaled training latents have std {float(z.std()):.4f}")
    write_json({**latent_data_meta(cache)["latent"],
                "posterior_std": cache["meta"]["posterior_std"],
                "train_latents": len(cache["train_latents"]),
                "test_latents": len(cache["test_latents"]),
                "scaled_train_std": float(z.double().std())}, info)


if __name__ == "__main__":
    sm = snakemake  # noqa: F821 (injected by Snakemake)
    set_threads(sm.threads)
    run_job(main, sm.log[0], sm.input.autoencoder, sm.input.data, sm.output.latents,
            sm.output.info, **sm.params.args)
