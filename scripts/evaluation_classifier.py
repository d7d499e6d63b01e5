"""Rule train_classifier: the MNIST classifier that judges every metric of the evaluation."""

from diffusionlab.data import MNIST
from diffusionlab.evaluation.classifier import accuracy, save_classifier, train_classifier
from diffusionlab.jobs import run_job, write_json
from diffusionlab.runtime import describe, pick_device, set_threads


def main(data: str, model: str, info: str, classifier: dict, seed: int, device: str) -> None:
    dev = pick_device(device)
    mnist = MNIST.load(data)
    losses = []

    def log_epoch(epoch: int, loss: float) -> None:
        losses.append(loss)
        print(f"epoch {epoch}: mean cross-entropy {loss:.4f}", flush=True)

    net = train_classifier(mnist.train_images, mnist.train_labels, seed=seed, device=dev,
                           on_epoch=log_epoch, **classifier)
    test_accuracy = accuracy(net, mnist.test_images, mnist.test_labels)
    print(f"test accuracy {test_accuracy:.4f} on {len(mnist.test_labels)} digits")
    summary = {"settings": classifier, "seed": seed, "epoch_losses": losses,
               "test_accuracy": test_accuracy, "test_digits": len(mnist.test_labels),
               "train_accuracy": accuracy(net, mnist.train_images, mnist.train_labels),
               "data": mnist.meta}
    save_classifier(net, model, meta=summary)
    write_json({**summary, "machine": describe(dev)}, info)


if __name__ == "__main__":
    sm = snakemake  # noqa: F821 (injected by Snakemake)
    set_threads(sm.threads)
    run_job(main, sm.log[0], sm.input.data, sm.output.model, sm.output.info, **sm.params.args)
