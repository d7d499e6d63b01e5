"""Part A: the algorithms of "Fun with Diffusion Models" on any denoiser backend.

The algorithms (forward process, denoising loops, guidance, editing, illusions) are written
once against `backend.DenoiserBackend`; `deepfloyd` runs them on the pretrained DeepFloyd IF
model, `mnist` on the class-conditioned UNet trained in part B.

    backend   the interface and the variances of reverse steps
    timesteps the exercise's timesteps scaled to any T (strided timesteps)
    filters   Gaussian blur (the classical denoiser), low/high-pass and frequency bands
    denoise   the forward process, one-step and iterative denoising, sampling from noise
    guidance  noise estimators: conditional, CFG, visual anagrams, hybrids
    edit      SDEdit and inpainting
    views     invertible image views of the visual anagrams
    images    test images from files, URLs or scikit-image
    figures   the labelled figures of every part A item
    mnist     the MNIST backend (digit_prompts: its prompts); deepfloyd: DeepFloyd IF
    items     one function per item of the exercise; item_params: config glue for the rules
"""
