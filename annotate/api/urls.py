"""URLs of the researcher API (mounted at /api/ by config.urls).

Writes have their own URL per operation (``.../create/``, ``.../open/``), in the style of
one class per operation; reads are plain resource URLs.
"""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from annotate.api.views import admin, campaigns, data, exports, me, registry, webhooks

C = "v1/campaigns/<slug:slug>/"

v1 = [
    path("v1/campaigns/", campaigns.CampaignListApi.as_view(), name="campaign-list"),
    path("v1/campaigns/create/", campaigns.CampaignCreateApi.as_view(), name="campaign-create"),
    path(C, campaigns.CampaignDetailApi.as_view(), name="campaign-detail"),
    path(C + "configure/", campaigns.CampaignConfigureApi.as_view(), name="campaign-configure"),
    path(C + "open/", campaigns.CampaignOpenApi.as_view(), name="campaign-open"),
    path(C + "join-links/", campaigns.JoinLinksApi.as_view(), name="campaign-join-links"),
    path(C + "webhooks/", webhooks.CampaignWebhooksApi.as_view(), name="campaign-webhooks"),
    path(C + "pause/", campaigns.CampaignPauseApi.as_view(), name="campaign-pause"),
    path(C + "close/", campaigns.CampaignCloseApi.as_view(), name="campaign-close"),
    path(C + "guidelines/", campaigns.GuidelinePublishApi.as_view(), name="guideline-publish"),
    path(C + "analytics/", campaigns.AnalyticsSnapshotApi.as_view(), name="campaign-analytics"),
    path(C + "items/", data.ItemListApi.as_view(), name="item-list"),
    path(C + "items/add/", data.ItemsAddApi.as_view(), name="items-add"),
    path(C + "items/<int:item_id>/", data.ItemDetailApi.as_view(), name="item-detail"),
    path(C + "conversations/add/", data.ConversationsAddApi.as_view(), name="conversations-add"),
    path(C + "models/", registry.CampaignModelsApi.as_view(), name="campaign-models"),
    path(C + "annotators/", data.AnnotatorProfileListApi.as_view(), name="annotator-list"),
    path(C + "export", exports.CampaignExportApi.as_view(), name="campaign-export"),
    path("v1/annotations/", data.AnnotationListApi.as_view(), name="annotation-list"),
    path(
        "v1/annotations/<int:annotation_id>/",
        data.AnnotationDetailApi.as_view(),
        name="annotation-detail",
    ),
    path("v1/assignments/", data.AssignmentListApi.as_view(), name="assignment-list"),
    path(
        "v1/assignments/<int:assignment_id>/",
        data.AssignmentDetailApi.as_view(),
        name="assignment-detail",
    ),
    path(
        "v1/model-endpoints/", registry.ModelEndpointListApi.as_view(), name="model-endpoint-list"
    ),
    path(
        "v1/policy-versions/", registry.PolicyVersionListApi.as_view(), name="policy-version-list"
    ),
    path(
        "v1/reward-model-versions/",
        registry.RewardModelVersionListApi.as_view(),
        name="reward-model-version-list",
    ),
    path("v1/grants/", admin.GrantListApi.as_view(), name="grant-list"),
    path("v1/grants/create/", admin.GrantCreateApi.as_view(), name="grant-create"),
    path("v1/grants/<int:grant_id>/", admin.GrantRevokeApi.as_view(), name="grant-revoke"),
    path("v1/exports/", exports.ExportListApi.as_view(), name="export-list"),
    path("v1/exports/<int:export_id>/", exports.ExportDetailApi.as_view(), name="export-detail"),
    path(
        "v1/exports/<int:export_id>/download",
        exports.ExportDownloadApi.as_view(),
        name="export-download",
    ),
    path(
        "v1/exports/<int:export_id>/reproduce",
        exports.ExportReproduceApi.as_view(),
        name="export-reproduce",
    ),
    path("v1/me/", me.MeApi.as_view(), name="me"),
    path("v1/me/data", me.MyDataApi.as_view(), name="my-data"),
    path("v1/me/data/delete", me.MyDataDeleteApi.as_view(), name="my-data-delete"),
]

app_name = "api"
urlpatterns = [
    *v1,
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api:schema"), name="redoc"),
]
