"""The admin's searches take the fast road for what staff type most: an arXiv id, a
whole address; and still find words of a title or part of an address."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import make_paper, make_subscriber

pytestmark = pytest.mark.django_db

PAPERS = reverse("admin:digest_paper_changelist")
SUBSCRIBERS = reverse("admin:subscriptions_subscriber_changelist")


@pytest.fixture
def papers():
    return [
        make_paper("Knowledge distillation for small models", arxiv_id="2501.01234"),
        make_paper("Diffusion for proteins", arxiv_id="2501.12345"),
        make_paper("Distillation of diffusion models", arxiv_id="hep-th/9901001"),
    ]


def found(client, url: str, term: str) -> list[str]:
    response = client.get(url, {"q": term})
    assert response.status_code == 200
    return [str(row) for row in response.context["cl"].result_list]


@pytest.mark.parametrize("term", ["2501.01234", "2501.01234v3", " 2501.01234 "])
def test_an_arxiv_id_finds_that_paper_only(admin_client, papers, term):
    assert found(admin_client, PAPERS, term) == [str(papers[0])]


def test_an_old_style_arxiv_id_is_found(admin_client, papers):
    assert found(admin_client, PAPERS, "hep-th/9901001") == [str(papers[2])]


def test_every_word_must_be_in_the_title(admin_client, papers):
    assert sorted(found(admin_client, PAPERS, "distillation")) == sorted(
        [str(papers[0]), str(papers[2])]
    )
    assert found(admin_client, PAPERS, "distillation diffusion") == [str(papers[2])]
    assert found(admin_client, PAPERS, '"small models"') == [str(papers[0])]


def test_a_whole_address_is_found_whatever_its_case(admin_client):
    alice = make_subscriber("Alice.Smith@Example.org")
    make_subscriber("alice.smithers@example.org")
    assert found(admin_client, SUBSCRIBERS, "alice.smith@example.ORG") == [str(alice)]


def test_part_of_an_address_finds_every_match(admin_client):
    make_subscriber("alice@example.org")
    make_subscriber("malice@example.com")
    make_subscriber("bob@example.org")
    assert len(found(admin_client, SUBSCRIBERS, "alice")) == 2
