"""Rule data: prepare a data set from its source and store it as uint8 tensors + JSON meta."""

from diffusionlab.data import load_mnist, prepare, save_dataset
from diffusionlab.jobrunner import run_job


def main(data: dict, out_tensors: str, out_meta: str, name: str | None = None) -> None:
    """data: the `data:` section (MNIST) or, with a name, that entry of `datasets:`.

    Nothing is written unless the whole set was read and checked; each file appears whole."""
    dataset = prepare(data, name) if name else load_mnist(**data)
    save_dataset(dataset, out_tensors, out_meta)
    meta = dataset.meta
    print(f"{meta.get('name', 'MNIST')} ({meta['dataset']}, from {meta['source']}): "
          f"{meta['train_count']} training and {meta['test_count']} test images of shape "
          f"{'x'.join(map(str, meta['image_shape']))}, {len(meta['class_names'])} classes")


if __name__ == "__main__":
    sm = snakemake  # noqa: F821 (injected by Snakemake)
    run_job(main, sm.log[0], sm.params.data, sm.output.tensors, sm.output.meta,
            getattr(sm.params, "name", None))
