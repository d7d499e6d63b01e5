"""The DeepFloyd IF backend: stage I (64x64) as the denoiser, stage II as the upsampler.

The T5-XXL text encoder is large, so it runs once: `compute_prompt_embeddings` encodes every
prompt with `pipe.encode_prompt` and saves {prompt: tensor [1, 77, 4096]} with torch.save; the
sampling code loads the pipelines with text_encoder=None and reads that file.

The weights are gated on the Hugging Face Hub. Every way loading can fail for lack of access
(licence not accepted, not logged in, offline without a cached copy, a missing local folder)
ends in one ModelAccessError that says what to do.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch
from diffusers import DiffusionPipeline, IFPipeline, IFSuperResolutionPipeline
from huggingface_hub.errors import (
    GatedRepoError,
    HFValidationError,
    LocalEntryNotFoundError,
    RepositoryNotFoundError,
)

from ..jobrunner import UserError
from ..runtime import DeviceError, pick_device
from ..torchfiles import read_torch_dict
from .backend import DenoiserBackend, PromptError

STAGE_1 = "DeepFloyd/IF-I-L-v1.0"
STAGE_2 = "DeepFloyd/IF-II-L-v1.0"
LICENCE_URL = "https://huggingface.co/DeepFloyd/IF-I-XL-v1.0"
ACCESS_ERRORS = (
    GatedRepoError,
    RepositoryNotFoundError,
    LocalEntryNotFoundError,
    HFValidationError,
    OSError,
)
# Only stage outputs as tensors are used, never the pipelines' PIL post-processing, so the
# safety checker and the watermarker (which act there) are not loaded.
NO_POSTPROCESSING = {"safety_checker": None, "feature_extractor": None, "watermarker": None,
                     "requires_safety_checker": False}


class ModelAccessError(UserError):
    """DeepFloyd IF cannot be loaded; the message says how to get access."""


def how_to_get_access() -> str:
    return (
        f"DeepFloyd IF is gated on the Hugging Face Hub: accept its licence once at {LICENCE_URL} "
        "while logged in to your account, then log in on this machine with `hf auth login` (or "
        "set the HF_TOKEN environment variable to an access token) and run once with internet so "
        "the weights are downloaded into the Hugging Face cache. The DeepFloyd backend expects a "
        "CUDA GPU; without one, run part A on the MNIST backend only."
    )


def _looks_like_path(source: str) -> bool:
    return os.path.isabs(source) or source.startswith((".", "~")) or Path(source).exists()


def resolve_precision(
    device: torch.device, dtype: torch.dtype | None, variant: str | None
) -> tuple[torch.dtype, str | None]:
    """fp16 weights (the repos' "fp16" variant) on CUDA, fp32 elsewhere, unless given.

    variant "auto" means "fp16" for fp16 weights (used where the files exist), else none.
    """
    if dtype is None:
        dtype = torch.float16 if device.type == "cuda" else torch.float32
    if variant == "auto":
        variant = "fp16" if dtype == torch.float16 else None
    return dtype, variant


def load_pipeline(
    pipeline_class: type[DiffusionPipeline],
    source: str,
    *,
    device: torch.device | str = "auto",
    dtype: torch.dtype | None = None,
    variant: str | None = "auto",
    cpu_offload: bool = False,
    **components,
) -> DiffusionPipeline:
    """Load an IF pipeline from a Hub id or a local folder and place it on the device.

    `components` override parts of the pipeline (text_encoder=None, unet=None). With
    cpu_offload, each model moves to the GPU only while it runs (less GPU memory, slower).
    """
    device = pick_device(str(device))
    if cpu_offload and device.type != "cuda":
        raise DeviceError("part A's cpu_offload moves models to a CUDA GPU; none is in use")
    any_variant = variant == "auto"
    dtype, variant = resolve_precision(device, dtype, variant)
    source = str(source)
    if _looks_like_path(source) and not Path(source).expanduser().is_dir():
        raise ModelAccessError(
            f"no model folder at {Path(source).expanduser().resolve()}. {how_to_get_access()}"
        )
    location = str(Path(source).expanduser()) if _looks_like_path(source) else source
    components = {**NO_POSTPROCESSING, **components}
    try:
        try:
            pipe = pipeline_class.from_pretrained(location, dtype=dtype, variant=variant,
                                                  **components)
        except ValueError as err:
            # "auto" asks for the fp16 files where the repository has them; a folder saved
            # without them loads its full-precision files, cast to dtype.
            if not (any_variant and variant and "variant" in str(err)):
                raise
            pipe = pipeline_class.from_pretrained(location, dtype=dtype, **components)
    except ACCESS_ERRORS as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ModelAccessError(
            f"could not load {source} ({type(err).__name__}: {first_line}). {how_to_get_access()}"
        ) from err
    if cpu_offload:
        pipe.enable_model_cpu_offload(device=device)
    else:
        pipe.to(device)
    return pipe


def compute_prompt_embeddings(
    source: str,
    prompts: Sequence[str],
    path: str | Path | None = None,
    *,
    device: torch.device | str = "auto",
    dtype: torch.dtype | None = None,
    variant: str | None = "auto",
    cpu_offload: bool = False,
) -> dict[str, torch.Tensor]:
    """T5 embeddings {prompt: [1, 77, width]} of every prompt (once each), saved to `path`."""
    pipe = load_pipeline(IFPipeline, source, device=device, dtype=dtype, variant=variant,
                         cpu_offload=cpu_offload, unet=None)
    embeddings = {}
    for prompt in dict.fromkeys(prompts):
        embedding, _ = pipe.encode_prompt(prompt, do_classifier_free_guidance=False)
        embeddings[prompt] = embedding.detach().cpu()
    if path is not None:
        torch.save(embeddings, path)
    return embeddings


def load_prompt_embeddings(path: str | Path) -> dict[str, torch.Tensor]:
    return read_torch_dict(path, (), "a prompt-embedding file",
                           " (rule part_a_embeddings rebuilds it)")


class DeepFloydBackend(DenoiserBackend):
    """Stage I's UNet predicts 6 channels: 3 of noise, 3 of variance (learned range)."""

    name = "deepfloyd"
    channels = 3
    value_range = (-1.0, 1.0)
    variance_type = "learned_range"

    def __init__(
        self,
        stage_1: IFPipeline,
        embeddings: dict[str, torch.Tensor],
        stage_2: IFSuperResolutionPipeline | None = None,
        upsample_steps: int = 50,
        upsample_guidance: float = 4.0,
        noise_level: int = 250,
    ):
        super().__init__(stage_1.scheduler.alphas_cumprod, stage_1._execution_device)
        self.stage_1, self.stage_2 = stage_1, stage_2
        self.unet = stage_1.unet
        self.image_size = self.unet.config.sample_size
        self.embeddings = embeddings
        self.has_upsampler = stage_2 is not None
        self.upsample_steps, self.upsample_guidance = upsample_steps, upsample_guidance
        self.noise_level = noise_level

    @classmethod
    def load(
        cls,
        stage_1: str,
        embeddings_path: str | Path,
        stage_2: str | None = None,
        *,
        device: torch.device | str = "auto",
        dtype: torch.dtype | None = None,
        variant: str | None = "auto",
        cpu_offload: bool = False,
        **upsampling,
    ) -> DeepFloydBackend:
        """Both stages without their text encoder, and the cached prompt embeddings.

        `upsampling` takes upsample_steps, upsample_guidance and noise_level for stage II.
        """
        options = {"device": device, "dtype": dtype, "variant": variant,
                   "cpu_offload": cpu_offload, "text_encoder": None}
        first = load_pipeline(IFPipeline, stage_1, **options)
        second = None if stage_2 is None else load_pipeline(
            IFSuperResolutionPipeline, stage_2, **options
        )
        return cls(first, load_prompt_embeddings(embeddings_path), second, **upsampling)

    def encode_prompts(self, prompts):
        missing = [p for p in prompts if p not in self.embeddings]
        if missing:
            raise PromptError(
                f"no cached T5 embedding for {missing}; add these prompts to the list whose "
                "embeddings are computed (part A's prompt embedding step) and run it again"
            )
        stacked = torch.cat([self.embeddings[p] for p in prompts])
        return stacked.to(self.device, self.unet.dtype)

    @torch.no_grad()
    def predict(self, x_t, t, embeddings):
        out = self.unet(
            x_t.to(self.device, self.unet.dtype),
            t,
            encoder_hidden_states=embeddings.to(self.device, self.unet.dtype),
            return_dict=False,
        )[0]
        eps, variance = out.float().split(self.channels, dim=1)
        return eps, variance

    def _negative(self, uncond: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return uncond.expand(cond.shape[0], *uncond.shape[1:])

    def text_to_image(self, cond, uncond, num_inference_steps, guidance, generator):
        """Stage I's own sampler (diffusers' IFPipeline) at num_inference_steps."""
        return self.stage_1(
            prompt_embeds=cond,
            negative_prompt_embeds=self._negative(uncond, cond),
            num_inference_steps=num_inference_steps,
            guidance_scale=guidance,
            generator=generator,
            output_type="pt",
        ).images.float()

    def upsample(self, images, cond, uncond, generator):
        """Stage II: 64x64 stage I images to 256x256 under the same prompt embeddings."""
        if self.stage_2 is None:
            return super().upsample(images, cond, uncond, generator)
        unet = self.stage_2.unet
        return self.stage_2(
            image=images.to(self.device, unet.dtype),
            prompt_embeds=cond.to(unet.dtype),
            negative_prompt_embeds=self._negative(uncond, cond).to(unet.dtype),
            num_inference_steps=self.upsample_steps,
            guidance_scale=self.upsample_guidance,
            noise_level=self.noise_level,
            generator=generator,
            output_type="pt",
        ).images.float()
