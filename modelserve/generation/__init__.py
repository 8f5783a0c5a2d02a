"""Generation: the model registry, backends, the request ledger, the pre-generated pool,
recovery of lost messages, and the Celery tasks of the "generate" queue.

Depends on annotate (campaigns, prompts, responses, items); never on modelserve.learning.
"""
