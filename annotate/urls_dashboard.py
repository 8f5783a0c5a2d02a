"""Staff analytics dashboard, mounted at /dashboard/ (config/urls.py)."""

from django.urls import path

from annotate.views import dashboard

app_name = "dashboard"

urlpatterns = [
    path("", dashboard.dashboard_index, name="index"),
    path("<slug:slug>/", dashboard.dashboard_campaign, name="campaign"),
    path("<slug:slug>/annotators/", dashboard.dashboard_annotators, name="annotators"),
    path("<slug:slug>/cases/", dashboard.dashboard_cases, name="cases"),
    path("<slug:slug>/leaderboard/", dashboard.dashboard_leaderboard, name="leaderboard"),
    path("<slug:slug>/freshness/", dashboard.dashboard_freshness, name="freshness"),
    path("<slug:slug>/recompute/", dashboard.dashboard_recompute, name="recompute"),
    path("<slug:slug>/routing/", dashboard.dashboard_routing_recompute, name="routing"),
]
