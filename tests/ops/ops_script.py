"""Small actions the fault tests run in a subprocess with their own broker settings.

python -m tests.ops.ops_script create_generation CAMPAIGN_ID PROMPT_ID
python -m tests.ops.ops_script requeue
"""

from __future__ import annotations

import sys

import django


def main(argv: list[str]) -> None:
    django.setup()
    from django.db import transaction

    from annotate.models import Campaign, Prompt
    from modelserve.generation.requests import candidate_plan, generation_requests_create
    from modelserve.generation.selectors import endpoint_pool

    if argv[0] == "create_generation":
        campaign = Campaign.objects.get(pk=int(argv[1]))
        prompt = Prompt.objects.get(pk=int(argv[2]))
        with transaction.atomic():
            plan = candidate_plan(
                campaign=campaign, endpoints=endpoint_pool(campaign=campaign), k=1
            )
            created = generation_requests_create(
                campaign=campaign, prompt=prompt, plan=plan, purpose="pool", task_type="rating"
            )
        # The on-commit enqueue ran above; with the broker down it must not have raised.
        print("created", ",".join(str(r.pk) for r in created))
    elif argv[0] == "make_campaign":
        from annotate.services.simulation import simulation_campaign_create

        # Enough work (80 items) that the crowd is still working when PostgreSQL comes back.
        campaign = simulation_campaign_create(slug=argv[1], n_models=3, n_prompts=20, overlap=4)
        print("campaign", campaign.pk)
    elif argv[0] == "requeue":
        from modelserve.generation.recovery import generation_requeue_stalled

        print("requeued", generation_requeue_stalled(older_than_s=0))
    else:
        raise SystemExit(f"unknown action {argv[0]!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
