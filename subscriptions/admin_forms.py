"""The subscriber's own fields as staff edit them in the admin.

The address is stored as the sign-up stores it (`addresses.normalise_email`), so staff
cannot add a second subscriber for a mailbox under another spelling of its domain.

A change page can stay open for minutes while the subscriber unsubscribes, comes back or
changes their preferences, a bounce suppresses them, or a failed send counts against
them. Each field therefore carries the value the page was shown (Django's hidden
initial), and a save writes only the fields staff changed on it: the others keep what the
row holds now, and a field changed both here and meanwhile is refused, naming its new
value, rather than overwritten.
"""

from typing import Any

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


class SavesWhatStaffChanged(forms.ModelForm):
    """A change form that writes only the fields staff changed on the page (see the
    module's docstring); `kept_newer` names the fields changed meanwhile and kept."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.kept_newer: list[str] = []
        if not self.instance._state.adding:
            for field in self.fields.values():
                field.show_hidden_initial = True

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        # A post without the page's record of what it showed (a script) is taken as
        # made on the row as it is now.
        if self.instance._state.adding or not any(
            self[name].html_initial_name in self.data for name in self.fields
        ):
            return cleaned
        for name in self.fields:
            if name not in cleaned:
                continue
            now = getattr(self.instance, name)  # the admin reads the row again for each save
            if name not in self.changed_data:
                if self._changed_meanwhile(name):
                    self.kept_newer.append(name)
                    cleaned[name] = now
            elif self._changed_meanwhile(name) and cleaned[name] != now:
                self.add_error(
                    name,
                    f"This field changed since this page was opened: it is now "
                    f"“{self.shown(name, now)}”. Nothing was saved; set it again if your "
                    "value should still replace that one.",
                )
        return cleaned

    def _changed_meanwhile(self, name: str) -> bool:
        """Whether the row's value differs from the one this page was shown."""
        bound = self[name]
        shown = bound.field.hidden_widget().value_from_datadict(
            self.data, self.files, bound.html_initial_name
        )
        return bound.field.has_changed(bound.initial, shown)

    def shown(self, name: str, value: object) -> str:
        """A value as the page shows it: a choice's label, a list's items."""
        if isinstance(value, list):
            return ", ".join(str(item) for item in value) or "(none)"
        choices = dict(getattr(self.fields[name], "choices", ()))
        return str(choices.get(value, value))

    def kept_message(self) -> str:
        names = ", ".join(
            f"{self[n].label} ({self.shown(n, getattr(self.instance, n))})" for n in self.kept_newer
        )
        return f"Kept as they are now, because they changed after this page was opened: {names}."


class SubscriberForm(SavesWhatStaffChanged):
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
        if "status" not in self.changed_data:
            return status  # not chosen here: clean() keeps the status the row has now
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
