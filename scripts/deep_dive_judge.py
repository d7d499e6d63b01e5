"""Rule deep_dive_judge: the classifier that reads a labelled deep dive set's samples (part B's
judge, for the set's channels, size and classes), trained on its training split."""

from diffusionlab.data import load_dataset
from diffusionlab.evaluation.classifier import accuracy, save_classifier, train_classifier
from diffusionlab.jobrunner import run_job, write_json
from diffusionlab.runtime import pick_device, set_threads, use_bf16


def main(data: str, model: str, info: str, judge: dict, seed: int, device: str,
         precision: str) -> None:
    dev = pick_device(device)
    dataset = load_dataset(data)
    net = train_classifier(dataset.train_images, dataset.train_labels, seed=seed, device=dev,
                           num_classes=len(dataset.class_names),
                           autocast_bf16=use_bf16(precision, dev), **judge)
    summary = {"settings": judge, "seed": seed, "precision": precision,
               "train_images": len(dataset.train_labels), "test_images": len(dataset.test_labels),
               "test_accuracy": accuracy(net, dataset.test_images, dataset.test_labels)}
    print(f"test accuracy {summary['test_accuracy']:.4f} on {summary['test_images']} images")
    save_classifier(net, model, meta=summary)
    write_json(summary, info)


if __name__ == "__main__":
    sm = snakemake  # noqa: F821 (injected by Snakemake)
    set_threads(sm.threads)
    run_job(main, sm.log[0], sm.input.data, sm.output.model, sm.output.info, **sm.params.args)
