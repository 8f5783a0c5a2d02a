"""Signed outgoing webhooks (issue 13): events of a campaign POSTed to URLs its admin
registered. ``signing`` makes and checks the signature header, ``network`` decides which
addresses may be called and sends, ``services`` writes deliveries and attempts them,
``listeners`` turns annotate.events into deliveries. The Celery tasks are in
annotate/webhook_tasks.py."""
