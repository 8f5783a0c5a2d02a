"""The caller: roles, and an annotator's own data (download, deletion)."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from annotate.api import serializers as s
from annotate.api.base import ChorusAPIView
from annotate.roles import annotator_of, roles_of
from annotate.selectors.crowd_access import crowd_data_refusal
from annotate.services.privacy import annotator_data, annotator_data_delete


class MeApi(ChorusAPIView):
    @extend_schema(responses=s.MeSerializer, tags=["me"])
    def get(self, request: Request) -> Response:
        annotator = annotator_of(request.user)
        return Response(
            s.MeSerializer(
                {
                    "username": request.user.get_username(),
                    "roles": roles_of(request.user),
                    "annotator_id": annotator.pseudonym if annotator else None,
                }
            ).data
        )


CROWD_PARAMS = [
    OpenApiParameter(
        "campaign", str, description="Crowd accounts: the campaign of your join link."
    ),
    OpenApiParameter("sig", str, description="Crowd accounts: the signature of your join link."),
]


def _crowd_check(request: Request, annotator: Any, data: Any) -> None:
    """A crowd account proves it holds its join link (annotate.selectors.crowd_access)."""
    refusal = crowd_data_refusal(
        user=request.user,
        annotator=annotator,
        session=getattr(request, "session", None),
        campaign_slug=str(data.get("campaign") or ""),
        signature=str(data.get("sig") or ""),
    )
    if refusal is not None:
        raise PermissionDenied(refusal)


class MyDataApi(ChorusAPIView):
    @extend_schema(parameters=CROWD_PARAMS, responses={200: OpenApiTypes.OBJECT}, tags=["me"])
    def get(self, request: Request) -> Response:
        """Everything stored about you as an annotator (profile versions, labels, consents).

        Accounts opened by a crowd join link pass ``campaign`` and ``sig`` of that link."""
        annotator = annotator_of(request.user)
        if annotator is None:
            raise Http404("You have no annotator data.")
        _crowd_check(request, annotator, request.query_params)
        response = Response(annotator_data(annotator=annotator))
        response["Content-Disposition"] = 'attachment; filename="my-chorus-data.json"'
        return response


class MyDataDeleteApi(ChorusAPIView):
    @extend_schema(request=s.DeleteConfirmSerializer, responses={200: s.MeSerializer}, tags=["me"])
    def post(self, request: Request) -> Response:
        """Delete your profile data and pseudonymise your labels (cannot be undone).

        Your profile versions are deleted, your labels get a new random pseudonymous id
        and no longer link to any profile, and you receive no further tasks.
        """
        annotator = annotator_of(request.user)
        if annotator is None:
            raise Http404("You have no annotator data.")
        _crowd_check(request, annotator, request.data)
        data = s.DeleteConfirmSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not data.validated_data["confirm"]:
            raise ValidationError({"confirm": "Send confirm=true to delete your data."})
        annotator = annotator_data_delete(annotator=annotator)
        return Response(
            s.MeSerializer(
                {
                    "username": request.user.get_username(),
                    "roles": roles_of(request.user),
                    "annotator_id": annotator.pseudonym,
                }
            ).data
        )
