"""Rule part_a_embeddings: the T5 embedding of every DeepFloyd prompt, computed once."""

from diffusionlab.jobrunner import run_job
from diffusionlab.part_a.item_params import cpu_offload
from diffusionlab.runtime import set_threads


def main(model: str, prompts: list[str], out: str, device: str, cpu_offload: bool) -> None:
    from diffusionlab.part_a.deepfloyd import compute_prompt_embeddings

    embeddings = compute_prompt_embeddings(model, prompts, out, device=device,
                                           cpu_offload=cpu_offload)
    for prompt, tensor in embeddings.items():
        print(f"{prompt!r}: {list(tensor.shape)}")


if __name__ == "__main__":
    sm = snakemake  # noqa: F821 (injected by Snakemake)
    set_threads(sm.threads)
    run_job(main, sm.log[0], sm.params.model, list(sm.params.prompts), sm.output.embeddings,
            sm.params.device, cpu_offload(sm.config))
