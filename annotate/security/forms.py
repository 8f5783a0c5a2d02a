"""The log-in form: Django's, plus a clear message when the account or address is locked."""

from __future__ import annotations

import math
from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils import timezone
from django.utils.translation import ngettext

from .client_ip import client_ip
from .lockout import login_locked_until


def lockout_message(minutes: int) -> str:
    return ngettext(
        "Too many failed log-in attempts. For your security, logging in is blocked "
        "for %(minutes)s minute. Try again later, or ask the study team for help.",
        "Too many failed log-in attempts. For your security, logging in is blocked "
        "for %(minutes)s minutes. Try again later, or ask the study team for help.",
        minutes,
    ) % {"minutes": minutes}


class LoginForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "locked_out": "%(message)s",
    }

    def _raise_if_locked(self) -> None:
        until = login_locked_until(
            username=self.cleaned_data.get("username"), ip=client_ip(self.request)
        )
        if until is not None:
            minutes = max(1, math.ceil((until - timezone.now()).total_seconds() / 60))
            raise forms.ValidationError(
                self.error_messages["locked_out"],
                code="locked_out",
                params={"message": lockout_message(minutes)},
            )

    def clean(self) -> dict[str, Any]:
        self._raise_if_locked()
        try:
            return super().clean()
        except forms.ValidationError:
            # This failure may have been the one that locked the account: say so now.
            self._raise_if_locked()
            raise
