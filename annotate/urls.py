from django.contrib.auth import views as auth_views
from django.urls import path

from annotate.security.forms import LoginForm
from annotate.views import home, language, onboarding, profile, tasks

urlpatterns = [
    path("", home.home, name="home"),
    path("healthz", home.healthz, name="healthz"),
    path("language/", language.language_switch, name="language_switch"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(authentication_form=LoginForm),  # lockout (issue 8)
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Annotator experience (issue 3): onboarding, profile, task pages.
    path("accounts/signup/", onboarding.signup, name="signup"),
    path("join/<slug:slug>/", onboarding.join, name="join"),
    path("consent/", onboarding.consent, name="consent"),
    path("c/<slug:slug>/consent/", onboarding.campaign_consent, name="campaign_consent"),
    path("c/<slug:slug>/screen/", onboarding.campaign_screen, name="campaign_screen"),
    path("profile/", profile.profile_view, name="profile"),
    path("profile/edit/", profile.profile_edit, name="profile_edit"),
    path("c/<slug:slug>/", tasks.campaign_work, name="campaign_work"),
    path("c/<slug:slug>/done/", tasks.campaign_done, name="campaign_done"),
    path("tasks/<int:assignment_id>/", tasks.task_page, name="task"),
    path("tasks/<int:assignment_id>/submit/", tasks.task_submit, name="task_submit"),
    path("tasks/<int:assignment_id>/skip/", tasks.task_skip, name="task_skip"),
]

# Live conversation (PRISM) task: issue 4.
from annotate.views import conversation as conversation_views  # noqa: E402

urlpatterns += [
    path(
        "tasks/conversation/<int:assignment_id>/",
        conversation_views.conversation_task,
        name="conversation_task",
    ),
    path(
        "tasks/conversation/<int:assignment_id>/panel",
        conversation_views.conversation_panel,
        name="conversation_panel",
    ),
    path(
        "tasks/conversation/<int:assignment_id>/start",
        conversation_views.conversation_start,
        name="conversation_start",
    ),
    path(
        "tasks/conversation/<int:assignment_id>/rate",
        conversation_views.conversation_rate,
        name="conversation_rate",
    ),
    path(
        "tasks/conversation/<int:assignment_id>/continue",
        conversation_views.conversation_continue,
        name="conversation_continue",
    ),
    path(
        "tasks/conversation/<int:assignment_id>/choose",
        conversation_views.conversation_choose,
        name="conversation_choose",
    ),
    path(
        "tasks/conversation/<int:assignment_id>/finish",
        conversation_views.conversation_finish,
        name="conversation_finish",
    ),
    path(
        "tasks/conversation/<int:assignment_id>/retry",
        conversation_views.conversation_retry,
        name="conversation_retry",
    ),
]

# Researcher API account pages (issue 6): API tokens, an annotator's own data.
from annotate.views import account as account_views  # noqa: E402

urlpatterns += [
    path("account/tokens/", account_views.tokens, name="api_tokens"),
    path("account/my-data/", account_views.my_data_download, name="my_data_download"),
    path("account/my-data/delete", account_views.my_data_delete, name="my_data_delete"),
]

# Researcher page: granted campaigns, API token, exports (GET /research/).
from annotate.views import research as research_views  # noqa: E402

urlpatterns += [
    path("research/", research_views.research, name="research"),
    path("research/token/", research_views.research_token, name="research_token"),
    path("research/export/", research_views.research_export_start, name="research_export"),
    path(
        "research/exports/<int:export_id>/",
        research_views.research_export_row,
        name="research_export_row",
    ),
]
