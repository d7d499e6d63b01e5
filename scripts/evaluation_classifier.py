"""Rule train_classifier: the MNIST classifier that judges every metric of the evaluation,
trained on every training digit of the run's data."""

from diffusionlab.data import MNIST
from diffusionlab.evaluation.classifier import accuracy, save_classifier, train_classifier
from diffusionlab.jobrunner import run_job, write_json
from diffusionlab.runtime import describe, pick_device, set_threads, use_bf16


def main(data: str, model: str, info: str, classifier: dict, seed: int, device: str,
         precision: str) -> None:
    dev = pick_device(device)
    mnist = MNIST.load(data)
    losses, seen = [], []

    def log_epoch(epoch: int, loss: float, digits: int) -> None:
        losses.append(loss)
        seen.append(digits)
        print(f"epoch {epoch}: mean cross-entropy {loss:.4f} over {digits} digits", flush=True)

    net = train_classifier(mnist.train_images, mnist.train_labels, seed=seed, device=dev,
                           autocast_bf16=use_bf16(precision, dev), on_epoch=log_epoch,
                           **classifier)
    test_accuracy = accuracy(net, mnist.test_images, mnist.test_labels)
    print(f"test accuracy {test_accuracy:.4f} on {len(mnist.test_labels)} digits")
    summary = {"settings": classifier, "seed": seed, "precision": precision,
               "epoch_losses": losses,
               "train_digits": len(mnist.train_labels), "epoch_digits": seen,
               "test_accuracy": test_accuracy, "test_digits": len(mnist.test_labels),
               "train_accuracy": accuracy(net, mnist.train_images, mnist.train_labels),
               "data": mnist.meta}
    save_classifier(net, model, meta=summary)
    write_json({**summary, "machine": describe(dev)}, info)


if __name__ == "__main__":
    sm = snakemake  # noqa: F821 (injected by Snakemake)
    set_threads(sm.threads)
    run_job(main, sm.log[0], sm.input.data, sm.output.model, sm.output.info, **sm.params.args)
