"""Validation for every form a subscriber fills in; the words here are what they read."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import QueryDict

from digest.mail.messages import InvalidRecipient, safe_recipient

from . import categories, interests
from .addresses import normalise_email
from .models import PAPER_LIMIT_MAX, Subscriber, validate_time_zone

EMAIL_ERRORS = {
    "required": "Please enter your email address.",
    "invalid": "That does not look like an email address — please check it.",
    "max_length": "That address is too long for us (254 characters at most).",
}
WEEKDAYS = [
    (0, "Monday"), (1, "Tuesday"), (2, "Wednesday"), (3, "Thursday"), (4, "Friday"),
    (5, "Saturday"), (6, "Sunday"),
]  # fmt: skip
HOURS = [(h, f"{h:02d}:00") for h in range(24)]
# The keywords box holds as much at sign-up as on the preferences page.
KEYWORDS_MAX_CHARS = 2000
KEYWORDS_ERRORS = {
    "max_length": f"That is a lot of keywords: {KEYWORDS_MAX_CHARS} characters at most."
}


def clean_address(typed: str) -> str:
    """The address as stored (addresses.normalise_email), refused here when it is one the
    mail could not go to: the page must not say a mail is on its way when it cannot be
    sent. Such are a domain that has no ASCII form (a bidi control in it), control
    characters, commas or angle brackets in a quoted local part, and a non-ASCII letter
    that Django's check lets by (the Kelvin sign matches K when case is ignored). Django
    also takes `localhost` and `[127.0.0.1]`: the mail server's own host, no reader's."""
    address = normalise_email(typed)
    domain = address.rpartition("@")[2]
    try:
        if not address.isascii() or "." not in domain or domain.startswith("["):
            raise InvalidRecipient(address)
        safe_recipient(address)
    except InvalidRecipient as exc:
        raise ValidationError(EMAIL_ERRORS["invalid"], code="invalid") from exc
    return address


class HoneypotMixin(forms.Form):
    # Hidden from people by CSS; bots that fill every field reveal themselves.
    website = forms.CharField(required=False, label="Leave this field empty")

    def is_bot(self) -> bool:
        return bool(self.data.get("website", "").strip())


def clean_keywords_text(text: str) -> list[str]:
    keywords = interests.parse_keywords(text)
    if len(keywords) > interests.MAX_KEYWORDS:
        raise ValidationError(
            f"That is {len(keywords)} keywords; {interests.MAX_KEYWORDS} at most, please."
        )
    too_long = [k for k in keywords if len(k) > interests.MAX_KEYWORD_LENGTH]
    if too_long:
        raise ValidationError(
            f"Keep each keyword or phrase under {interests.MAX_KEYWORD_LENGTH} characters."
        )
    return keywords


class SignUpForm(HoneypotMixin):
    email = forms.EmailField(max_length=254, error_messages=EMAIL_ERRORS)
    keywords = forms.CharField(
        required=False, max_length=KEYWORDS_MAX_CHARS, error_messages=KEYWORDS_ERRORS
    )
    categories = forms.MultipleChoiceField(
        required=False,
        choices=categories.popular_choices,
        error_messages={"invalid_choice": "Please pick topics from the list."},
    )
    # Filled in by our script from the browser; anything we do not know becomes UTC.
    time_zone = forms.CharField(required=False, max_length=64)

    def clean_email(self) -> str:
        return clean_address(self.cleaned_data["email"])

    def clean_keywords(self) -> list[str]:
        return clean_keywords_text(self.cleaned_data.get("keywords", ""))

    def clean_time_zone(self) -> str:
        value = self.cleaned_data.get("time_zone", "").strip()
        try:
            validate_time_zone(value)
        except ValidationError:
            return "UTC"
        return value


class RequestLinkForm(HoneypotMixin):
    email = forms.EmailField(max_length=254, error_messages=EMAIL_ERRORS)

    def clean_email(self) -> str:
        return clean_address(self.cleaned_data["email"])


# The page offers these only as radio buttons and a select, with no place for a mark: a
# value outside their choices (a changed or outdated page) is named above the form.
UNMARKED_CHOICES = {
    "frequency": "How often",
    "weekday": "Day of the week",
    "empty_day": "When nothing matches",
}


class PreferencesForm(forms.Form):
    categories = forms.MultipleChoiceField(
        required=False,
        choices=categories.choices,
        error_messages={"invalid_choice": "“%(value)s” is not an arXiv category we know."},
    )
    keywords = forms.CharField(
        required=False, max_length=KEYWORDS_MAX_CHARS, error_messages=KEYWORDS_ERRORS
    )
    authors = forms.CharField(
        required=False,
        widget=forms.Textarea,
        max_length=5000,
        error_messages={"max_length": "That list of authors is too long."},
    )
    description = forms.CharField(
        required=False,
        widget=forms.Textarea,
        max_length=2000,
        error_messages={"max_length": "Please keep the description under 2000 characters."},
    )
    paper_limit = forms.IntegerField(
        min_value=1,
        max_value=PAPER_LIMIT_MAX,
        error_messages={
            "required": "Please say how many papers you want, from 1 to 50.",
            "invalid": "Please enter a whole number from 1 to 50.",
            "min_value": "At least 1 paper, please.",
            "max_value": f"At most {PAPER_LIMIT_MAX} papers per digest.",
        },
    )
    frequency = forms.ChoiceField(choices=Subscriber.Frequency.choices)
    weekday = forms.TypedChoiceField(
        choices=WEEKDAYS,
        coerce=int,
        empty_value=0,  # type: ignore[arg-type]  # any value is allowed; the stubs say str
        required=False,
    )
    send_hour = forms.TypedChoiceField(
        choices=HOURS,
        coerce=int,
        error_messages={"invalid_choice": "Please pick an hour from the list."},
    )
    time_zone = forms.CharField(
        max_length=64, error_messages={"required": "Please choose your time zone."}
    )
    empty_day = forms.ChoiceField(choices=Subscriber.EmptyDay.choices)

    @classmethod
    def initial_for(cls, subscriber: Subscriber) -> dict:
        interest = getattr(subscriber, "interest", None)
        return {
            "categories": list(interest.categories) if interest else [],
            "keywords": interests.format_keywords(interest.keywords) if interest else "",
            "authors": interests.format_authors(interest.authors) if interest else "",
            "description": interest.description if interest else "",
            "paper_limit": subscriber.paper_limit,
            "frequency": subscriber.frequency,
            "weekday": subscriber.weekday,
            "send_hour": subscriber.send_hour,
            "time_zone": subscriber.time_zone,
            "empty_day": subscriber.empty_day,
        }

    def clean_keywords(self) -> list[str]:
        return clean_keywords_text(self.cleaned_data.get("keywords", ""))

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        for name, label in UNMARKED_CHOICES.items():
            if self.errors.pop(name, None) is not None:
                self._name_unmarked_choice(name, label)
        return cleaned

    def _name_unmarked_choice(self, name: str, label: str) -> None:
        """A non-field error that names the choice and what the form sent for it. With
        `initial` (the saved values), the saved choice is shown again, so that saving the
        page as it then stands works."""
        sent = str(self.data.get(name, ""))[:40]
        sent_text = f"“{sent}”, which is not one of its choices" if sent else "no choice"
        message = f"“{label}”: the form sent {sent_text}"
        if name in self.initial:
            data = QueryDict(mutable=True)
            data.update(self.data)  # every value of a list (the categories) too
            data[name] = str(self.initial[name])
            self.data = data
            message += "; your saved choice is shown again"
        self.add_error(None, f"{message}.")

    @property
    def has_marked_errors(self) -> bool:
        """Whether any error is shown beside its field (not only above the form)."""
        return any(name != NON_FIELD_ERRORS for name in self.errors)

    def clean_authors(self) -> list[str]:
        authors = interests.parse_authors(self.cleaned_data.get("authors", ""))
        if len(authors) > interests.MAX_AUTHORS:
            raise ValidationError(f"{interests.MAX_AUTHORS} authors at most, please.")
        if any(len(a) > interests.MAX_AUTHOR_LENGTH for a in authors):
            raise ValidationError("One of those names is very long — is a separator missing?")
        return authors

    def clean_description(self) -> str:
        return self.cleaned_data.get("description", "").strip()

    def clean_time_zone(self) -> str:
        value = self.cleaned_data["time_zone"].strip()
        validate_time_zone(value)
        return value

    def interest_overrides(self) -> dict:
        """The interest part of the cleaned data, in the shape `preview_picks` takes."""
        data = self.cleaned_data
        return {
            "categories": data["categories"],
            "keywords": data["keywords"],
            "authors": data["authors"],
            "description": data["description"],
            "paper_limit": data["paper_limit"],
        }
