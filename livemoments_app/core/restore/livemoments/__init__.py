"""The LiveMoments diffusion restorer (ICLR 2026): SD3-medium MMDiT with a reference branch and motion alignment.

Importing this package is cheap: torch and diffusers are imported only by the submodules that run the model
(``motion``, ``schedule``, ``attention``, ``sampler``, ``loader``), which the restorer imports when it runs.
"""
