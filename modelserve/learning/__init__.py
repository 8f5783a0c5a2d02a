"""The learning loop: data snapshots of the labels, refits (reward model and DPO),
scheduling, gates and promotion, reward-feature warm-up, its Celery tasks and admin.

Depends on annotate, on modelserve.generation (a promoted policy joins the generation
pool) and on modelserve.training (pure torch, no Django).
"""
