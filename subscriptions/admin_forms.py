"""The subscriber's own fields as staff edit them in the admin.

The address is stored as the sign-up stores it (`addresses.normalise_email`), so staff
cannot add a second subscriber for a mailbox under another spelling of its domain.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from digest.cockpit.adminkit import HOUR_CHOICES, WEEKDAY_CHOICES

from .addresses import normalise_email
from .models import Subscriber


class SubscriberForm(forms.ModelForm):
    send_hour = forms.TypedChoiceField(choices=HOUR_CHOICES, coerce=int, label="Send at")
    weekday = forms.TypedChoiceField(
        choices=WEEKDAY_CHOICES, coerce=int, help_text="Weekly digests only."
    )

    class Meta:
        model = Subscriber
        fields = (
            "email",
            "status",
            "frequency",
            "weekday",
            "send_hour",
            "time_zone",
            "paper_limit",
            "empty_day",
            "failure_count",
            "suppressed_reason",
        )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Declared fields take no initial value from the model: a new subscriber's form
        # would show (and save) 00:00 and Monday instead of the defaults a sign-up gets.
        for name in ("send_hour", "weekday"):
            self.fields[name].initial = getattr(self.instance, name)

    def clean_email(self) -> str:
        """The address as the sign-up stores it; another spelling of a mailbox that has a
        subscriber is refused naming that subscriber (not the database's constraint)."""
        email = normalise_email(self.cleaned_data["email"])
        twin = Subscriber.objects.filter(email__iexact=email).exclude(pk=self.instance.pk).first()
        if twin is not None:
            link = reverse("admin:subscriptions_subscriber_change", args=[twin.pk])
            raise ValidationError(
                format_html(
                    'This mailbox already has a subscriber: <a href="{}">{}</a>. '
                    "Change that one instead.",
                    link,
                    twin.email,
                )
            )
        return email
