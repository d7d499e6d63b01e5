"""Rule data: fetch MNIST from the configured source and store it as uint8 tensors."""

from diffusionlab.data import load_mnist
from diffusionlab.jobs import run_job, write_json


def main(data: dict, out_tensors: str, out_meta: str) -> None:
    mnist = load_mnist(**data)
    mnist.save(out_tensors)
    write_json(mnist.meta, out_meta)
    print(f"MNIST from {mnist.meta['source']}: {mnist.meta['train_digits']} training and "
          f"{mnist.meta['test_digits']} test digits")


if __name__ == "__main__":
    sm = snakemake  # noqa: F821 (injected by Snakemake)
    run_job(main, sm.log[0], sm.params.data, sm.output.tensors, sm.output.meta)
