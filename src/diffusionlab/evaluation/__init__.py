"""Quantitative evaluation of both parts, one small module per quantity.

- `classifier`: a small CNN (LeNet or VGG stages), the judge of every metric below;
- `frechet`: the Frechet distance between two Gaussian fits of feature sets;
- `fid`: the standard FID (torchmetrics' Inception) where its weights can be had, else why not;
- `denoising`: MSE / PSNR of the one-step denoiser beside non-learned baselines;
- `sample_quality`: Frechet distance to test digits and class accuracy of generated digits
  (drawn by `diffusionlab.sampling`: all T steps, or fewer with strided DDPM and DDIM);
- `illusions`: how well visual anagrams, hybrids and SDEdit edits read to the classifier;
- `plots`: the figures of these tables.
"""
