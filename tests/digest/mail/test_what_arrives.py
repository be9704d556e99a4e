"""The mail as it arrives: sent over real SMTP (aiosmtpd) and read back with the email
package, as a receiving server, a spam filter and a mail client read it."""

import re

import pytest

from digest.delivery import sending
from digest.models import Paper
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
