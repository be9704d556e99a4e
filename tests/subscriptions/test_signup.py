"""The landing page and sign-up: double opt-in, no enumeration, honeypot, rate limits."""

from __future__ import annotations

import json

import pytest
from django.core import mail
from django.urls import reverse

from subscriptions import selectors
from subscriptions.models import Interest, Subscriber, known_time_zones
from tests.helpers.mail import html_part, link_in

URL = reverse("subscriptions:signup")


def post(client, email="carol@example.org", **extra):
    return client.post(URL, {"email": email, **extra})


@pytest.mark.django_db
def test_the_landing_page_explains_the_service_and_shows_the_form(client):
    response = client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Subscribe" in body
    assert 'name="email"' in body
    assert "Privacy" in body
    assert "csrfmiddlewaretoken" in body
    assert "a sentence in your own words" in body  # not only the field's own vocabulary
    assert "name papers you like" in body
    assert len(response.content) < 100_000


@pytest.mark.django_db
def test_the_landing_page_shows_a_live_sample_of_todays_papers_escaped(client, paper):
    body = client.get(URL).content.decode()
    assert "Parsing with &lt;b&gt;transformers&lt;/b&gt;" in body
    assert "<b>transformers</b>" not in body
    assert "https://arxiv.org/abs/2501.00001" in body


@pytest.mark.django_db
def test_the_landing_page_still_works_when_the_sample_fails(client, monkeypatch):
    def broken(limit=5):
        raise RuntimeError("no papers table")

    monkeypatch.setattr("digest.selectors.top_papers", broken)
    response = client.get(URL)
    assert response.status_code == 200
    assert "still on their way" in response.content.decode()


@pytest.mark.django_db
def test_sign_up_creates_a_pending_subscriber_and_mails_a_confirm_link(client):
    response = post(
        client,
        keywords='parsing "graph neural networks" -survey',
        categories=["cs.CL", "cs.LG"],
        time_zone="Europe/Berlin",
    )
    assert response.status_code == 200
    assert "Check your inbox" in response.content.decode()
    subscriber = Subscriber.objects.get(email="carol@example.org")
    assert subscriber.status == Subscriber.Status.PENDING
    assert subscriber.time_zone == "Europe/Berlin"
    interest = Interest.objects.get(subscriber=subscriber)
    assert interest.categories == ["cs.CL", "cs.LG"]
    assert interest.keywords == ["parsing", "graph neural networks", "-survey"]
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["carol@example.org"]
    assert link_in(message, "/confirm/") in html_part(message)


@pytest.mark.django_db
def test_an_unknown_time_zone_falls_back_to_utc(client):
    post(client, time_zone="Mars/Olympus_Mons")
    assert Subscriber.objects.get().time_zone == "UTC"


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["localtime", "posixrules", "../zoneinfo/UTC", "europe/berlin"])
def test_a_zone_file_that_is_no_iana_name_falls_back_to_utc(client, name):
    # zoneinfo opens Debian's /usr/share/zoneinfo/localtime (the server's own zone) too.
    post(client, time_zone=name)
    assert Subscriber.objects.get().time_zone == "UTC"


def test_every_iana_name_is_known_and_nothing_else():
    assert {"Europe/Berlin", "America/Argentina/Buenos_Aires", "UTC", "Etc/GMT+5"} <= (
        known_time_zones()
    )
    assert not {"localtime", "posixrules", ""} & known_time_zones()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("", "Please enter your email address."),
        ("not-an-address", "does not look like an email address"),
        ("a@" + "b" * 260 + ".org", "too long"),
    ],
)
def test_a_bad_email_gets_a_clear_message_and_nothing_is_sent(client, email, message):
    response = post(client, email)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Subscriber.objects.count() == 0
    assert mail.outbox == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    "email",
    [
        "rtl@ex\u202eample.com",  # a bidi control: no domain can hold it
        '"a\x1bb"@example.com',  # a control character, quoted
        '"x@evil.example,y"@example.com',  # a comma: two addresses to a mail header
        '"<b>x</b>"@example.com',
        "\u212aate@example.com",  # the Kelvin sign, which matches K when case is ignored
        "root@localhost",  # the mail server's own host, not a reader's inbox
        "root@[127.0.0.1]",
    ],
)
def test_an_address_we_could_not_mail_is_refused_on_the_page(client, email):
    response = post(client, email)

    assert response.status_code == 400
    assert "does not look like an email address" in response.content.decode()
    assert Subscriber.objects.count() == 0
    assert mail.outbox == []


@pytest.mark.django_db
def test_an_unknown_category_is_refused(client):
    response = post(client, categories=["cs.XX"])
    assert response.status_code == 400
    assert "Please pick topics from the list." in response.content.decode()


@pytest.mark.django_db
def test_a_known_address_gets_the_same_page_and_a_mail(client, alice):
    topics = {"keywords": "diffusion", "categories": ["cs.CV"]}
    new = post(client, "dave@example.org", **topics)
    known = post(client, "ALICE@example.org", **topics)
    assert known.status_code == new.status_code == 200
    strip = lambda r: r.content.decode().replace("dave", "").replace("ALICE", "")  # noqa: E731
    assert strip(known) == strip(new)
    assert Subscriber.objects.filter(email__iexact="alice@example.org").count() == 1
    assert [m.to for m in mail.outbox] == [["dave@example.org"], ["alice@example.org"]]


@pytest.mark.django_db
@pytest.mark.parametrize("spelling", ['"alice"@example.org', '"al\\ice"@example.org'])
def test_a_quoted_spelling_of_a_known_address_is_that_subscriber(client, alice, spelling):
    # "alice"@ reaches alice@'s inbox (RFC 5321): a second subscriber there would mail
    # her every digest twice once both were confirmed.
    post(client, spelling)
    assert list(Subscriber.objects.values_list("email", flat=True)) == ["alice@example.org"]
    assert [m.to for m in mail.outbox] == [["alice@example.org"]]


@pytest.mark.django_db
def test_a_quoted_address_that_needs_its_quotes_keeps_them(client):
    post(client, '"john..doe"@example.org')  # two dots in a row need the quotes
    assert list(Subscriber.objects.values_list("email", flat=True)) == ['"john..doe"@example.org']


@pytest.mark.django_db
def test_a_known_address_keeps_its_own_topics(client, alice):
    post(client, "alice@example.org", keywords="spam", categories=["cs.CV"])
    alice.interest.refresh_from_db()
    assert alice.interest.keywords == ["parsing"]
    assert alice.interest.categories == ["cs.CL"]


@pytest.mark.django_db
def test_a_subscribed_address_is_told_so_with_its_preferences_link(client, alice):
    post(client, "alice@example.org")
    [message] = mail.outbox
    assert "You are already subscribed" in message.subject
    for part in (message.body, html_part(message)):
        assert "already subscribed" in part
        assert "/confirm/" not in part
        assert "not applied" not in part  # no topics typed: nothing to say about them
    preferences = link_in(message, "/preferences/")
    assert preferences in html_part(message)
    assert client.get(preferences).status_code == 200


@pytest.mark.django_db
def test_a_subscribed_address_is_told_which_typed_topics_were_not_applied(client, alice):
    typed = 'parsing diffusion "<b>protein</b> folding"'
    post(client, "alice@example.org", keywords=typed, categories=["cs.CL", "cs.CV"])
    [message] = mail.outbox
    text, html = message.body, html_part(message)
    for part in (text, html):
        assert "The topics typed on the form were not applied" in part
        assert "cs.CV — Computer Vision and Pattern Recognition" in part
        assert "cs.CL" not in part  # theirs already, as is "parsing"
        assert "parsing" not in part
        # Counted, never repeated: a stranger's text must not reach someone else's inbox.
        assert "Keywords: 2 typed" in part
        assert "protein" not in part and "diffusion" not in part
    alice.interest.refresh_from_db()
    assert alice.interest.keywords == ["parsing"]
    assert alice.interest.categories == ["cs.CL"]


@pytest.mark.django_db
def test_the_topics_left_out_reach_the_mail_as_plain_data(alice):
    not_applied = selectors.topics_not_held(alice, ["cs.CL", "cs.CV"], ["Parsing", "-survey"])
    assert json.loads(json.dumps(not_applied)) == not_applied
    assert not_applied["keywords"] == 1  # "-survey"; "parsing" is hers


@pytest.mark.django_db
def test_an_unsubscribed_address_is_told_the_typed_topics_were_not_applied(client, alice):
    Subscriber.objects.filter(pk=alice.pk).update(status=Subscriber.Status.UNSUBSCRIBED)
    post(client, "alice@example.org", keywords="diffusion")
    [message] = mail.outbox
    assert link_in(message, "/confirm/") in html_part(message)  # confirming brings them back
    for part in (message.body, html_part(message)):
        assert "The topics typed on the form were not applied" in part
        assert "Keywords: 1 typed" in part and "diffusion" not in part


@pytest.mark.django_db
def test_signing_up_again_before_confirming_takes_the_new_topics(client):
    post(client, keywords="wrongtopic", categories=["cs.CV"], time_zone="UTC")
    post(client, keywords="diffusion", categories=["cs.LG"], time_zone="Europe/Berlin")
    post(client)  # a third time, naming nothing: the topics stay
    carol = Subscriber.objects.get(email="carol@example.org")
    assert carol.interest.keywords == ["diffusion"]
    assert carol.interest.categories == ["cs.LG"]
    assert carol.time_zone == "UTC"  # the form's default, as the last sign-up sent it
    assert len(mail.outbox) == 3  # each confirms what was typed last


@pytest.mark.django_db
def test_an_unsubscribed_address_keeps_its_topics_when_typed_in_again(client, alice):
    Subscriber.objects.filter(pk=alice.pk).update(status=Subscriber.Status.UNSUBSCRIBED)
    post(client, "alice@example.org", keywords="spam", categories=["cs.CV"])
    alice.interest.refresh_from_db()
    assert alice.interest.keywords == ["parsing"]


@pytest.mark.django_db
def test_a_double_submit_makes_one_subscriber(client):
    first = post(client)
    second = post(client)
    assert first.status_code == second.status_code == 200
    assert Subscriber.objects.count() == 1
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_the_honeypot_silently_drops_bots_with_the_same_page(client):
    response = post(client, website="http://spam.example")
    assert response.status_code == 200
    assert "Check your inbox" in response.content.decode()
    assert Subscriber.objects.count() == 0
    assert mail.outbox == []


def test_the_honeypot_is_hidden_by_css_not_inline_style(client, db):
    body = client.get(URL).content.decode()
    assert 'class="hp"' in body
    assert "style=" not in body


@pytest.mark.django_db
def test_sign_ups_to_one_address_are_rate_limited(client):
    for _ in range(5):
        assert post(client).status_code == 200
    response = post(client)
    assert response.status_code == 429
    assert "Please wait a little" in response.content.decode()
    assert len(mail.outbox) == 5


@pytest.mark.django_db
def test_plus_tags_share_their_mailboxs_rate_limit(client):
    # carol+1@, carol+2@ ... all land in carol@'s inbox: five mails an hour is the limit.
    statuses = [post(client, f"Carol+{n}@example.org").status_code for n in range(6)]

    assert statuses == [200] * 5 + [429]
    assert post(client, "carol@example.org").status_code == 429
    assert len(mail.outbox) == 5


@pytest.mark.django_db
def test_dotted_gmail_spellings_share_their_mailboxs_rate_limit(client):
    # Gmail delivers c.arol@, ca.rol@ ... and googlemail.com alike to carol@gmail.com.
    spellings = ["c.arol", "ca.rol", "car.ol", "caro.l", "c.a.rol", "c.a.r.o.l"]
    statuses = [post(client, f"{local}@gmail.com").status_code for local in spellings]

    assert statuses == [200] * 5 + [429]
    assert post(client, "Carol+news@googlemail.com").status_code == 429
    assert len(mail.outbox) == 5
    # Elsewhere a dot may name another mailbox: it keeps its own five.
    assert post(client, "c.arol@example.org").status_code == 200


@pytest.mark.django_db
def test_quoted_spellings_share_their_mailboxs_rate_limit(client):
    # "carol"@ is carol@ (RFC 5321), and so is every "c\\arol"@ spelling with backslashes:
    # a five-letter name has 32 of them, each buying five more mails an hour into one inbox.
    spellings = ['"carol"', '"c\\arol"', '"\\c\\arol"', '"ca\\r\\ol"', '"carol+x"', '"Carol"']
    statuses = [post(client, f"{local}@example.org").status_code for local in spellings]

    assert statuses == [200] * 5 + [429]
    assert post(client, "carol@example.org").status_code == 429
    assert post(client, '"c.a.r.o.l"@gmail.com').status_code == 200
    assert len(mail.outbox) == 6


@pytest.mark.django_db
def test_sign_ups_from_one_ip_are_rate_limited(client):
    statuses = [post(client, f"user{i}@example.org").status_code for i in range(21)]
    assert statuses[:20] == [200] * 20
    assert statuses[20] == 429
    other_ip = client.post(URL, {"email": "late@example.org"}, REMOTE_ADDR="10.0.0.9")
    assert other_ip.status_code == 200


@pytest.mark.django_db
def test_rate_limits_can_be_switched_off(client, no_rate_limits):
    assert all(post(client).status_code == 200 for _ in range(8))


@pytest.mark.django_db
def test_sign_up_needs_a_csrf_token(db):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(URL, {"email": "eve@example.org"})
    assert response.status_code == 403
    assert Subscriber.objects.count() == 0


@pytest.mark.django_db
def test_a_bounced_address_gets_the_same_page_but_no_mail(client):
    Subscriber.objects.create(email="gone@example.org", status=Subscriber.Status.BOUNCED)
    response = post(client, "gone@example.org")
    assert response.status_code == 200
    assert "Check your inbox" in response.content.decode()
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_missing_csrf_token_gets_a_friendly_page(db):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(URL, {"email": "eve@example.org"})
    assert response.status_code == 403
    assert "Please try that again" in response.content.decode()


@pytest.mark.django_db
def test_behind_a_proxy_the_ip_limit_counts_the_forwarded_address(client):
    # The test client's REMOTE_ADDR is 127.0.0.1, a trusted proxy by default.
    for i in range(20):
        client.post(URL, {"email": f"u{i}@example.org"}, HTTP_X_REAL_IP="203.0.113.7")
    blocked = client.post(URL, {"email": "x@example.org"}, HTTP_X_REAL_IP="203.0.113.7")
    other = client.post(URL, {"email": "y@example.org"}, HTTP_X_REAL_IP="203.0.113.8")
    assert (blocked.status_code, other.status_code) == (429, 200)


@pytest.mark.django_db
def test_sign_up_takes_as_many_characters_of_keywords_as_the_preferences_page(client):
    keywords = " ".join(f"{n:02d}" + "k" * 97 for n in range(20))  # 1,999 characters

    assert post(client, keywords=keywords).status_code == 200
    assert len(Interest.objects.get().keywords) == 20


@pytest.mark.django_db
def test_too_many_characters_of_keywords_get_the_preferences_pages_message(client):
    response = post(client, keywords="k" * 2001)

    assert response.status_code == 400
    assert "That is a lot of keywords: 2000 characters at most." in response.content.decode()
    assert Subscriber.objects.count() == 0
