"""Tiny stand-ins for part A's models, small enough to build in a test in well under a second.

- `save_tiny_if(folder)`: a randomly initialised pipeline shaped like DeepFloyd IF (stage I
  UNet with 6 output channels and text-embedding addition, a learned-range DDPM scheduler,
  a T5 encoder and a sentencepiece tokenizer trained on the fly; a stage II super-resolution
  pipeline), saved with save_pretrained so it loads through the project's own loading code.
- `tiny_mnist_checkpoint(path)`: a randomly initialised class-conditioned part B UNet saved
  as a part B checkpoint.
- `RampBackend`: a backend whose noise estimate is a fixed ramp scaled by the prompt's
  number, for known-answer tests of the algorithms.
"""

from __future__ import annotations

import io
from pathlib import Path

import sentencepiece as spm
import torch
from diffusers import DDPMScheduler, IFPipeline, IFSuperResolutionPipeline, UNet2DConditionModel
from transformers import T5Config, T5EncoderModel, T5Tokenizer

from diffusionlab.part_a.backend import DenoiserBackend
from diffusionlab.schedule import DDPMSchedule
from diffusionlab.training import TrainSettings, atomic_save, checkpoint, new_model

TEXT_WIDTH = 16  # the tiny T5's d_model (4096 for the real T5-XXL)
STAGE_1_SIZE, STAGE_2_SIZE = 16, 32
PROMPTS = ["a high quality photo", "a rocket ship", "an oil painting of an old man",
           "an oil painting of people around a campfire", "a lithograph of a skull",
           "a lithograph of waterfalls", "a pencil", ""]


def tiny_tokenizer(sentences: list[str]) -> T5Tokenizer:
    """A T5 tokenizer from a sentencepiece unigram model trained on a few sentences."""
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences), model_writer=model, vocab_size=48,
        model_type="unigram", pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
        hard_vocab_limit=False, minloglevel=2,
    )
    sp = spm.SentencePieceProcessor(model_proto=model.getvalue())
    vocab = [(sp.id_to_piece(i), sp.get_score(i)) for i in range(sp.get_piece_size())]
    return T5Tokenizer(vocab=vocab, extra_ids=0)


def if_scheduler(**overrides) -> DDPMScheduler:
    """DeepFloyd IF's stage I scheduler settings (cosine schedule, learned-range variance)."""
    settings = {"num_train_timesteps": 1000, "beta_schedule": "squaredcos_cap_v2",
                "variance_type": "learned_range", "thresholding": True,
                "dynamic_thresholding_ratio": 0.95, "sample_max_value": 1.5}
    return DDPMScheduler(**{**settings, **overrides})


def tiny_if_unet(in_channels: int, size: int, **extra) -> UNet2DConditionModel:
    """IF's UNet blocks at a few channels: 6 output channels, T5 text added to the time."""
    return UNet2DConditionModel(
        sample_size=size, in_channels=in_channels, out_channels=6, layers_per_block=1,
        block_out_channels=(8, 16),
        down_block_types=("ResnetDownsampleBlock2D", "SimpleCrossAttnDownBlock2D"),
        mid_block_type="UNetMidBlock2DSimpleCrossAttn",
        up_block_types=("SimpleCrossAttnUpBlock2D", "ResnetUpsampleBlock2D"),
        norm_num_groups=4, cross_attention_dim=16, attention_head_dim=8,
        encoder_hid_dim=TEXT_WIDTH, addition_embed_type="text", addition_embed_type_num_heads=2,
        resnet_time_scale_shift="scale_shift", **extra,
    )


def save_tiny_if(folder: Path, seed: int = 0) -> tuple[Path, Path]:
    """Save tiny stage I and stage II pipelines under folder; returns their two folders."""
    torch.manual_seed(seed)
    tokenizer = tiny_tokenizer([p for p in PROMPTS if p])
    text_encoder = T5EncoderModel(T5Config(
        vocab_size=len(tokenizer), d_model=TEXT_WIDTH, d_kv=4, num_heads=2, d_ff=32,
        num_layers=1, relative_attention_num_buckets=4,
    ))
    none = {"safety_checker": None, "feature_extractor": None, "watermarker": None,
            "requires_safety_checker": False}
    stage_1 = IFPipeline(tokenizer=tokenizer, text_encoder=text_encoder,
                         unet=tiny_if_unet(3, STAGE_1_SIZE), scheduler=if_scheduler(), **none)
    stage_2 = IFSuperResolutionPipeline(
        tokenizer=tokenizer, text_encoder=text_encoder,
        unet=tiny_if_unet(6, STAGE_2_SIZE, class_embed_type="timestep"),
        scheduler=if_scheduler(), image_noising_scheduler=if_scheduler(), **none,
    )
    paths = folder / "stage_1", folder / "stage_2"
    stage_1.save_pretrained(paths[0])
    stage_2.save_pretrained(paths[1])
    return paths


def tiny_mnist_checkpoint(path: Path, num_steps: int = 300, seed: int = 0) -> Path:
    """A randomly initialised class-conditioned UNet (hidden 4) as a part B checkpoint."""
    settings = TrainSettings(kind="class", hidden=4, epochs=1, batch_size=2, lr=1e-3, seed=seed,
                             num_steps=num_steps)
    model = new_model(settings).eval()
    atomic_save(checkpoint(model, settings, 1, {}), path)
    return path


class RampBackend(DenoiserBackend):
    """Predicts eps = c (1 + row index) for a prompt "c" (e.g. "0.5"; "" means 0), variance 0.

    A linear-beta schedule with T = 100 and fixed beta variance: known answers for the maths
    of guidance, anagrams and hybrids. `calls` counts forward passes.
    """

    name = "ramp"
    image_size = 4
    channels = 1
    value_range = (-1.0, 1.0)
    variance_type = "beta"

    def __init__(self, num_steps: int = 100):
        super().__init__(DDPMSchedule.linear(num_steps, 1e-4, 0.02).alphas_cumprod, "cpu")
        self.calls = 0

    def ramp(self) -> torch.Tensor:
        return 1.0 + torch.arange(self.image_size, dtype=torch.float32)[:, None].expand(
            self.image_size, self.image_size)

    def encode_prompts(self, prompts):
        return torch.tensor([[float(p) if p else 0.0] for p in prompts])

    def predict(self, x_t, t, embeddings):
        self.calls += 1
        eps = embeddings[:, :, None, None] * self.ramp()
        return eps.expand_as(x_t).clone(), torch.zeros_like(x_t)

    def text_to_image(self, cond, uncond, num_inference_steps, guidance, generator):
        raise NotImplementedError("the ramp backend has no sampler of its own")


def tiny_class_checkpoint(path: Path, class_names: list[str], channels: int = 3, size: int = 32,
                          num_steps: int = 30, name: str = "tiny") -> Path:
    """A randomly initialised class-conditioned course UNet (hidden 4) for `channels`x`size`
    images of `class_names`, saved as the deep dive's training job saves it (data meta with
    the data set's name and class names)."""
    settings = TrainSettings(kind="class", hidden=4, epochs=1, batch_size=2, lr=1e-3, seed=0,
                             num_steps=num_steps,
                             model={"channels": channels, "image_size": size,
                                    "num_classes": len(class_names)})
    model = new_model(settings).eval()
    atomic_save(checkpoint(model, settings, 1, {"name": name, "class_names": class_names}), path)
    return path
