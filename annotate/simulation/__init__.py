"""Simulated annotators (issue 8), in the spirit of AlpacaFarm's simulated crowd.

- ``model``: the people, pure numpy/math: demographic profiles drawn from configurable
  distributions, a latent Bradley-Terry preference model with group-dependent weights and
  noise, and a rating model that is deliberately partly inconsistent with it, plus the
  exact truths (model ranking, choice probabilities, expected consistency and agreement);
- ``html``: reading the annotator pages (forms, response ids) with the standard library;
- ``driver``: the HTTP client that drives a running server exactly like a browser would
  (sign up, consent, profile, next task, submit), concurrently, with latency figures.

Nothing here imports Django: the ``simulate`` management command and the load benchmark
wire it to a campaign.
"""
