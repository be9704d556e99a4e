"""The mail as it arrives: sent over real SMTP (aiosmtpd) and read back with the email
package, as a receiving server, a spam filter and a mail client read it."""

import email
import re
from datetime import timedelta
from email import policy

import pytest
import time_machine

from digest.delivery import planning, sending
from digest.models import Delivery, Paper
from tests.factories import make_paper, make_subscriber

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("on_monday")]


def _digest_for(smtp_server, *papers):
    make_subscriber("alice@example.org", keywords=["distillation"], send_hour=8)
    sending.send_due(everyone=True)
    [received] = smtp_server.to("alice@example.org")
    return received


def test_a_paper_without_authors_or_abstract_leaves_no_stray_separator_or_label(smtp_server):
    bare = make_paper("Distillation without a byline", authors=[], organization="Example Lab")
    Paper.objects.filter(pk=bare.pk).update(abstract="", abstract_text="")
    make_paper("Distillation with nothing at all", authors=[])

    received = _digest_for(smtp_server)

    text, html = received.part("plain"), received.part("html")
    assert "In one sentence: \n" not in text.replace("\r\n", "\n")
    assert not re.search(r"^[ \t]+$", text, flags=re.MULTILINE)  # no whitespace-only line
    assert "\n   Example Lab\n" in text.replace("\r\n", "\n")
    assert re.search(r"<p[^>]*>Example Lab<br>", html)
    assert not re.search(r"<p[^>]*> · ", html)  # no separator in front of nothing
    assert not re.search(r"<p[^>]*><br>", html)  # no empty byline line
    assert not re.search(r'<p class="gist"[^>]*></p>', html)


@pytest.mark.parametrize("outbox", [False, True], ids=["smtp", "outbox"])
def test_a_site_name_with_accents_leaves_the_list_id_readable(
    smtp_server, settings, outbox_backend, outbox
):
    settings.SITE_NAME = "Päperboy"
    if not outbox:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    make_paper("Distillation in a nutshell")
    make_subscriber("alice@example.org", keywords=["distillation"], send_hour=8)

    sending.send_due(everyone=True)

    [raw] = [r.raw for r in smtp_server.received] or [
        path.read_bytes() for path in outbox_backend.glob("*.eml")
    ]
    unfolded = re.sub(rb"\r\n[ \t]+", b" ", raw)
    [list_id] = re.findall(rb"^List-Id: (.*)$", unfolded, flags=re.MULTILINE | re.IGNORECASE)
    # The list's identifier itself is never inside an encoded word (RFC 2919: a receiver
    # files and filters by it); only the label before it may be encoded.
    assert list_id.rstrip().endswith(b" <digest.paperboy.localhost>"), list_id
    assert str(email.message_from_bytes(raw, policy=policy.default)["List-Id"]) == (
        "Päperboy digest <digest.paperboy.localhost>"
    )


def test_a_paper_stored_with_script_links_gets_none_in_either_part(smtp_server):
    # Ingestion keeps only http(s) links; a row written another way (a database edit, a
    # future source) must still not put a script in a link of the mail or its web page.
    make_paper(
        "Distillation </a><script>steal()</script>",
        arxiv_id="2511.99999",
        abs_url="javascript:alert(1)",
        pdf_url="JavaScript:alert(2)",
        hf_url="data:text/html,<script>alert(3)</script>",
        code_url=" javascript:alert(4)",
        thumbnail_url="javascript:alert(5)",
    )

    received = _digest_for(smtp_server)

    text, html = received.part("plain"), received.part("html")
    for part in (text, html):
        assert "alert(" not in part
        assert "https://arxiv.org/abs/2511.99999" in part
        assert "https://arxiv.org/pdf/2511.99999" in part
    assert "<script>" not in html and "&lt;/a&gt;&lt;script&gt;" in html
    assert "<img" not in html and "Code" not in html and "Daily Papers" not in html


def test_a_title_cannot_turn_the_rest_of_the_subject_around(smtp_server):
    # U+202E (right-to-left override) in a title would reverse everything after it on
    # the subject's line in the inbox list ("… and 2 more on distillation").
    make_paper("Distillation \u202egnikool\u202c \u2067and isolates\u2069", upvotes=9)

    received = _digest_for(smtp_server)

    message = received.message
    for text in (str(message["Subject"]), received.part("plain"), received.part("html")):
        assert not re.search("[\u202a-\u202e\u2066-\u2069]", text)
    assert "Distillation gnikool and isolates" in str(message["Subject"])


def test_long_lines_in_the_html_are_broken_so_it_goes_out_as_8bit(smtp_server, settings):
    # A title in a non-Latin script (3 bytes a character in UTF-8) at its longest, and a
    # repository link at the longest Paper keeps: one line of over 998 bytes made the
    # whole HTML part quoted-printable, a sixth larger, towards Gmail's clipping limit.
    settings.SITE_URL = "https://paperboy.a-rather-long-domain-name.example.org"
    title = "Distillation " + "注意力机制的知识蒸馏方法 " * 22
    code_url = "https://github.com/an-organisation/" + "a-long-repository-name-" * 11
    make_paper(title, code_url=code_url[:300], hf_url="https://huggingface.co/papers/1")

    received = _digest_for(smtp_server)

    [html_part] = [p for p in received.message.walk() if p.get_content_type() == "text/html"]
    assert html_part["Content-Transfer-Encoding"] == "8bit"
    assert max(len(line) for line in received.raw.split(b"\r\n")) <= 998
    html = " ".join(received.part("html").split())
    assert title[:200] in html
    assert f'href="{code_url[:300]}"' in html


def test_a_title_in_a_script_without_spaces_is_cut_at_its_length_not_emptied(smtp_server):
    words = "注意力机制的知识蒸馏方法" * 30  # Chinese has no spaces between words
    make_paper(f"Distillation {words}", f"We study distillation {words}. It works.")

    received = _digest_for(smtp_server)

    for part in (received.part("plain"), received.part("html")):
        part = " ".join(part.split())  # the HTML's long lines break at a space
        assert f"Distillation {words[:250]}" in part  # the title, cut near 300 characters
        assert f"We study distillation {words[:200]}" in part  # the gist, near 260


def test_a_resend_by_staff_is_a_new_message_a_retry_is_the_same_one(smtp_server):
    make_paper("Distillation in a nutshell")
    make_subscriber("alice@example.org", keywords=["distillation"], send_hour=8)
    smtp_server.script["alice@example.org"] = ["451 4.7.1 Greylisted, try again later"]
    sending.send_due(everyone=True)  # given back
    sending.send_due(everyone=True)  # run by hand: retried at once
    [first] = smtp_server.to("alice@example.org")
    row = Delivery.objects.get()
    assert first.message["Message-ID"] == row.message_id

    # Gmail shows one message per Message-ID: under the same one, the digest staff send
    # again (it was deleted, or filed as spam) would never appear.
    with time_machine.travel(timedelta(minutes=5)):
        planning.deliveries_requeue(Delivery.objects.all())
        sending.send_due(everyone=True)

    first, again = smtp_server.to("alice@example.org")
    assert again.message["Message-ID"] != first.message["Message-ID"]
    assert again.message["Message-ID"] == Delivery.objects.get().message_id
    assert again.message["Message-ID"].endswith("@paperboy.localhost>")
