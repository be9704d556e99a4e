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

# Why a subscriber in each status cannot be made active here, and who can.
NOT_BY_STAFF = {
    Subscriber.Status.PENDING: "This subscriber has not confirmed their address: only the "
    "link in their confirmation mail starts their digest (a sign-up mails a new one).",
    Subscriber.Status.UNSUBSCRIBED: "This subscriber unsubscribed (perhaps since this page "
    "was opened): only they can come back, by signing up again and confirming.",
    Subscriber.Status.BOUNCED: "This address is suppressed (perhaps since this page was "
    "opened): lift it with the list's action “Unsuppress the selected addresses”, which "
    "keeps an unsubscribe or a missing confirmation.",
}
KEEP_STATUS = "choose their present status above to save your other changes."


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

    def clean_status(self) -> str:
        """Only the subscriber starts their mail: staff may stop it, never turn a pending,
        unsubscribed or suppressed subscriber active. The admin reads the row again for
        each save, so this also stops a page opened before an unsubscribe or a bounce from
        switching the subscriber back on with the rest of its fields."""
        status = self.cleaned_data["status"]
        saved = self.instance.status
        if self.instance._state.adding or status != Subscriber.Status.ACTIVE or saved == status:
            return status
        raise ValidationError(f"{NOT_BY_STAFF[saved]} Nothing was saved; {KEEP_STATUS}")

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
