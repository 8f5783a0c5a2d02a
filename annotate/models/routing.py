"""Routing plans (issue 16): which items people label and which the AI judge labels.

A ``RoutingPlan`` is one computation of annotate.services.routing: the gain model it fit
(what a human label is predicted to add, HyPER-style), the budget and what it spent. Its
``RoutedItem`` rows keep every item's predicted gain and route at that time, so the
predicted gain can later be set against the realised one. The route in force lives on
``Item.route`` (the queue reads it without a join); plans are the history.
"""

from __future__ import annotations

from django.db import models

from config.jsonutil import JSONEncoder

from .campaign import Campaign
from .choices import ItemRoute
from .work import Item

# The task types a judge answers (a constrained answer), so the ones routing decides;
# the others (edits, critiques, conversations) always go to people, outside the budget.
ROUTABLE_TASK_TYPES = ("pairwise", "ranking", "rating")


class RoutingPlan(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="routing_plans")
    version = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    trigger = models.CharField(max_length=16, default="manual")  # beat | manual | command
    # "ridge" | "lightgbm" | "constant" (fit on labelled items) | "prior" (nothing to fit
    # on yet: judge and reward-model uncertainty stand in for the gain).
    model_kind = models.CharField(max_length=16)
    model = models.JSONField(default=dict, encoder=JSONEncoder)  # GainModel.summary()
    feature_names = models.JSONField(default=list, encoder=JSONEncoder)
    n_train = models.PositiveIntegerField(default=0)
    budget = models.PositiveIntegerField(default=0)
    # Items people label under this plan: already labelled or leased, plus newly routed.
    spent = models.PositiveIntegerField(default=0)
    n_items = models.PositiveIntegerField(default=0)
    n_human = models.PositiveIntegerField(default=0)
    n_ai = models.PositiveIntegerField(default=0)
    # Predicted gain of the last item newly routed to people (None: none routed).
    threshold = models.FloatField(null=True, blank=True)
    reward_model = models.CharField(max_length=200, blank=True)  # version used, if any
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["campaign", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "version"], name="routingplan_version")
        ]

    def __str__(self) -> str:
        return f"routing plan {self.campaign_id} v{self.version}"


class RoutedItem(models.Model):
    plan = models.ForeignKey(RoutingPlan, on_delete=models.CASCADE, related_name="items")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="routings")
    route = models.CharField(max_length=8, choices=ItemRoute.choices)
    predicted_gain = models.FloatField(null=True, blank=True)
    # People had labelled or leased the item before this plan: its route was kept, and
    # its prediction is in-sample (left out of predicted-vs-realised).
    labelled_before = models.BooleanField(default=False)
    features = models.JSONField(default=list, encoder=JSONEncoder)  # plan.feature_names

    class Meta:
        constraints = [models.UniqueConstraint(fields=["plan", "item"], name="routeditem_once")]
        indexes = [models.Index(fields=["item", "plan"])]

    def __str__(self) -> str:
        return f"item {self.item_id} -> {self.route} (plan {self.plan_id})"
