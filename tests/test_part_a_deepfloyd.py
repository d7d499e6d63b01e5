"""The DeepFloyd IF code path, end to end, on a tiny random IF-shaped pipeline saved to disk."""

import functools

import httpx2
import huggingface_hub.constants
import pytest
import torch
from diffusers import DDPMScheduler, IFPipeline
from huggingface_hub.errors import GatedRepoError
from part_a_fixtures import PROMPTS, STAGE_1_SIZE, STAGE_2_SIZE, save_tiny_if
from transformers import T5EncoderModel, T5Tokenizer

from diffusionlab.part_a.backend import PromptError
from diffusionlab.part_a.deepfloyd import (
    DeepFloydBackend,
    ModelAccessError,
    compute_prompt_embeddings,
    load_pipeline,
    load_prompt_embeddings,
)
from diffusionlab.part_a.denoise import sample
from diffusionlab.part_a.edit import box_mask, inpaint
from diffusionlab.part_a.filters import frequency_bands
from diffusionlab.part_a.guidance import anagram, factorized, guided
from diffusionlab.part_a.views import get_view
from diffusionlab.runtime import DeviceError


@pytest.fixture(scope="module")
def tiny_if(tmp_path_factory):
    return save_tiny_if(tmp_path_factory.mktemp("tiny_if"))


@pytest.fixture(scope="module")
def embeddings_file(tiny_if, tmp_path_factory):
    path = tmp_path_factory.mktemp("embeddings") / "prompt_embeddings.pt"
    compute_prompt_embeddings(str(tiny_if[0]), PROMPTS + ["a rocket ship"], path, device="cpu")
    return path


@pytest.fixture(scope="module")
def backend(tiny_if, embeddings_file):
    return DeepFloydBackend.load(str(tiny_if[0]), embeddings_file, str(tiny_if[1]), device="cpu",
                                 upsample_steps=2)


def gen(seed):
    return torch.Generator().manual_seed(seed)


def test_prompt_embeddings_are_the_t5_encoder_outputs(tiny_if, embeddings_file):
    embeddings = load_prompt_embeddings(embeddings_file)
    assert list(embeddings) == PROMPTS  # each prompt once, in order
    assert all(e.shape == (1, 77, 16) for e in embeddings.values())
    tokenizer = T5Tokenizer.from_pretrained(tiny_if[0] / "tokenizer")
    encoder = T5EncoderModel.from_pretrained(tiny_if[0] / "text_encoder").eval()
    for prompt in ("a rocket ship", ""):
        tokens = tokenizer(prompt, padding="max_length", max_length=77, truncation=True,
                           return_tensors="pt")
        with torch.no_grad():
            expected = encoder(tokens.input_ids, attention_mask=tokens.attention_mask)[0]
        assert torch.allclose(embeddings[prompt], expected, atol=1e-6)
    assert not torch.allclose(embeddings["a rocket ship"], embeddings[""])


def test_backend_loads_without_the_text_encoder(backend, tiny_if):
    assert backend.stage_1.text_encoder is None and backend.stage_2.text_encoder is None
    assert backend.image_size == STAGE_1_SIZE and backend.channels == 3
    assert backend.num_steps == 1000 and backend.has_upsampler
    scheduler = DDPMScheduler.from_pretrained(tiny_if[0] / "scheduler")
    assert torch.allclose(backend.alphas_cumprod, scheduler.alphas_cumprod.double(), rtol=1e-9)
    assert backend.strided_timesteps(30)[:2] == [990, 960]
    assert backend.scale_timestep(250) == 250


def test_predict_splits_noise_and_variance_and_guides_in_one_call(backend):
    x = torch.randn(2, 3, STAGE_1_SIZE, STAGE_1_SIZE, generator=gen(0))
    cond = backend.encode_prompts(["a high quality photo"])
    with torch.no_grad():
        raw = backend.unet(x, 500, encoder_hidden_states=cond.expand(2, -1, -1)).sample
    eps, variance = backend.predict(x, 500, cond.expand(2, -1, -1))
    assert torch.equal(eps, raw[:, :3]) and torch.equal(variance, raw[:, 3:])
    batches = []
    hook = backend.unet.register_forward_hook(lambda m, args, out: batches.append(len(args[0])))
    try:
        guided(backend, cond, backend.null_embedding(), 7.0)(x, 500)
        anagram(backend, [cond, backend.encode_prompts(["a pencil"])],
                [get_view("identity"), get_view("flip")], backend.null_embedding(), 7.0)(x, 500)
    finally:
        hook.remove()
    assert batches == [4, 8]


def test_cfg_sampling_equals_the_if_pipelines_own_loop(backend):
    """Our strided CFG sampler and IFPipeline(timesteps=...) draw the same noise in the same
    order; with thresholding and clipping off (the exercise's formula has neither) the images
    agree."""
    timesteps = backend.strided_timesteps(30)[25:]  # 240, 210, ..., 0: 8 steps
    cond = backend.encode_prompts(["a rocket ship"])
    null = backend.null_embedding()
    ours, _ = sample(backend, 1, timesteps, guided(backend, cond, null, 7.0), gen(5))
    config = dict(backend.stage_1.scheduler.config)
    scheduler = DDPMScheduler.from_config(config, thresholding=False, clip_sample=False)
    pipe = IFPipeline(**{**backend.stage_1.components, "scheduler": scheduler},
                      requires_safety_checker=False)
    frames = {}
    pipe(prompt_embeds=cond, negative_prompt_embeds=null, timesteps=timesteps,
         guidance_scale=7.0, generator=gen(5), output_type="pt",
         callback=lambda i, t, x: frames.setdefault(int(t), x.clone()))
    # The pipeline's step at t = 30 lands on t' = 0, where our loop ends.
    # Single steps agree to 1e-5 (test_part_a_backend); guidance scale 7 amplifies the
    # float32 rounding of the two batch orders over the 8 steps.
    assert torch.allclose(ours, frames[timesteps[-2]], atol=1e-4)


def test_stage_one_sampling_and_stage_two_upsampling(backend):
    cond = backend.encode_prompts(["a rocket ship", "a pencil"])
    null = backend.null_embedding()
    images = backend.text_to_image(cond, null, 3, 7.0, gen(1))
    assert images.shape == (2, 3, STAGE_1_SIZE, STAGE_1_SIZE)
    assert torch.equal(images, backend.text_to_image(cond, null, 3, 7.0, gen(1)))
    big = backend.upsample(images, cond, null, gen(2))
    assert big.shape == (2, 3, STAGE_2_SIZE, STAGE_2_SIZE) and torch.isfinite(big).all()


def test_algorithms_run_on_the_deepfloyd_backend(backend):
    timesteps = backend.strided_timesteps(30)[28:]
    photo = backend.to_model(torch.rand(1, 3, STAGE_1_SIZE, STAGE_1_SIZE, generator=gen(3)))
    null = backend.null_embedding()
    skull, falls = backend.encode_prompts(
        ["a lithograph of a skull", "a lithograph of waterfalls"]).split(1)
    cfg = guided(backend, backend.encode_prompts(["a high quality photo"]), null, 7.0)
    mask = box_mask(STAGE_1_SIZE, (0.1, 0.4, 0.6, 0.7))
    filled = inpaint(backend, photo, mask, timesteps, cfg, gen(4))
    keep = mask.expand_as(photo) == 0
    assert torch.equal(filled[keep], photo[keep])
    bands = functools.partial(frequency_bands, kernel_sizes=[5], sigmas=[2.0])
    hybrid, _ = sample(backend, 1, timesteps, factorized(backend, [skull, falls], bands, null,
                                                          7.0), gen(6))
    assert hybrid.shape == photo.shape and torch.isfinite(hybrid).all()


def test_a_prompt_without_a_cached_embedding_is_a_clear_error(backend):
    with pytest.raises(PromptError, match="a photo of a cat"):
        backend.encode_prompts(["a photo of a cat"])


ACCESS_WORDS = ("IF-I-XL-v1.0", "licence", "hf auth login", "HF_TOKEN", "GPU")


def test_missing_local_folder_is_a_model_access_error(tmp_path):
    with pytest.raises(ModelAccessError) as err:
        load_pipeline(IFPipeline, str(tmp_path / "no_such_model"), device="cpu")
    assert "no model folder" in str(err.value)
    assert all(word in str(err.value) for word in ACCESS_WORDS)


def test_offline_without_a_cached_copy_is_a_model_access_error(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ModelAccessError) as err:
        DeepFloydBackend.load("diffusionlab-tests/no-such-if-model", tmp_path / "e.pt",
                              device="cpu")
    assert "diffusionlab-tests/no-such-if-model" in str(err.value)
    assert all(word in str(err.value) for word in ACCESS_WORDS)


def test_gated_repository_is_a_model_access_error(monkeypatch):
    url = "https://huggingface.co/DeepFloyd/IF-I-L-v1.0/resolve/main/model_index.json"
    response = httpx2.Response(401, request=httpx2.Request("GET", url))

    def gated(*args, **kwargs):
        raise GatedRepoError("401 Client Error: cannot access gated repo", response=response)

    monkeypatch.setattr(IFPipeline, "from_pretrained", gated)
    with pytest.raises(ModelAccessError, match="GatedRepoError") as err:
        load_pipeline(IFPipeline, "DeepFloyd/IF-I-L-v1.0", device="cpu")
    assert all(word in str(err.value) for word in ACCESS_WORDS)


def test_fp16_weights_come_from_full_precision_files_where_no_fp16_variant_exists(tiny_if):
    pipe = load_pipeline(IFPipeline, str(tiny_if[0]), device="cpu", dtype=torch.float16,
                         text_encoder=None)
    assert pipe.unet.dtype == torch.float16
    with pytest.raises(ValueError, match="variant"):
        load_pipeline(IFPipeline, str(tiny_if[0]), device="cpu", variant="fp16")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_a_missing_gpu_is_a_clear_error(tiny_if):
    with pytest.raises(DeviceError, match="no CUDA GPU"):
        load_pipeline(IFPipeline, str(tiny_if[0]), device="cuda")
    with pytest.raises(DeviceError, match="cpu_offload"):
        load_pipeline(IFPipeline, str(tiny_if[0]), device="cpu", cpu_offload=True)
