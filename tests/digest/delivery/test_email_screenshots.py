"""The digest email as a mail client's web view shows it: desktop, phone, dark mode.

Real headless Chromium (Debian's /usr/bin/chromium) through Playwright; never
`playwright install`. Writes PNGs to var/screenshots/ for a person to look at, and checks
what a person would check first: nothing wider than the screen, the cards readable.
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from digest.delivery import rendering
from digest.models import Delivery, DeliveryItem, UpvoteSnapshot
from tests.factories import make_paper, make_subscriber
from tests.helpers.screenshots import CHROMIUM, CHROMIUM_ARGS

SCREENSHOTS = Path(__file__).resolve().parents[3] / "var" / "screenshots"

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing (apt-get install chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI must run the browser tests", pytrace=False)
    pytest.skip(reason)


THUMB = "https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/{}.png"
# Stands in for Daily Papers' social card (the test loads nothing from the network).
CARD_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="648">'
    '<rect width="1200" height="648" fill="#ffe9c7"/>'
    '<text x="60" y="330" font-size="64" font-family="sans-serif" fill="#7a3d00">'
    "Daily Papers card</text></svg>"
)
EXTRA = [
    ("Born Again Neural Networks revisited", "by Geoffrey Hinton · cs.LG"),
    ("Sparse mixture-of-experts distillation", "matches 'distillation', 'moe'"),
    ("Contrastive decoding for small models", "like 'Born Again Neural Networks', which you liked"),
    ("A benchmark of long-context retrieval", "cs.CL · 210 upvotes"),
    ("Teacher ensembles for speech recognition", "matches 'distillation' · cs.SD"),
    ("Quantised students at the edge", "similar to your description"),
]


def sample_digest(web: bool = False, email: str = "alice@example.org") -> str:
    subscriber = make_subscriber(email, keywords=["distillation"])
    row = Delivery.objects.create(subscriber=subscriber, digest_date=date(2026, 11, 23))
    announced = {"announced_on": date(2026, 11, 22)}  # the day before the digest
    papers = [
        make_paper(
            "Knowledge Distillation for Small Language Models at Scale",
            "Large teachers are costly to serve. We distil a 70B teacher into a 1B student "
            "with a curriculum of synthetic reasoning traces. The student keeps 94% of the "
            "teacher's accuracy on GSM8K while running 40 times faster. We release code "
            "and checkpoints.",
            authors=[f"Researcher {n} Surname" for n in range(23)],
            organization="Example AI Lab",
            upvotes=128,
            hf_url="https://huggingface.co/papers/2511.01234",
            code_url="https://github.com/example/distil",
            thumbnail_url=THUMB.format("2511.01234"),
            **announced,
        ),
        make_paper(
            "placeholder",
            "Diffusion samplers need many steps. We distil them into two.",
            authors=["Ada Lovelace", "Alan Turing"],
            upvotes=7,
            **announced,
        ),
        make_paper(
            "Self-distillation improves calibration of vision transformers",
            "Calibration matters. We show that self-distillation fixes it cheaply, across "
            "twelve benchmarks and three architectures, with no extra data.",
            authors=["Grace Hopper"],
            hf_url="https://huggingface.co/papers/2511.04321",
            **announced,
        ),
    ]
    papers[1].title = r"Two-step $\alpha$-Distillation of \textit{Diffusion} Samplers"
    papers[1].title_text = ""  # as if ingestion had not made a Unicode form
    reasons = [
        "matches 'distillation' · cs.CL · trending, 128 upvotes",
        "matches 'distillation' · like papers you asked for more of",
        "matches 'distillation' · cs.CV",
    ]
    for n, (title, reason) in enumerate(EXTRA):
        papers.append(
            make_paper(
                title,
                "Existing methods are slow. We propose a simple fix that is fast. "
                "It works on five benchmarks.",
                authors=["Kim Lee", "Sam Roe"],
                upvotes=40 + n,
                thumbnail_url=THUMB.format(f"2511.0990{n}") if n == 3 else "",
                **announced,
            )
        )
        reasons.append(reason)
    UpvoteSnapshot.objects.create(paper=papers[0], upvotes=90)
    UpvoteSnapshot.objects.filter(paper=papers[0]).update(
        taken_at=timezone.now() - timedelta(hours=30)
    )
    pairs = [
        (DeliveryItem(delivery=row, paper=p, rank=n, score=1.0, reason=r), p)
        for n, (p, r) in enumerate(zip(papers, reasons, strict=True), start=1)
    ]
    return rendering.DigestRenderer(web=web).render(row, pairs)[2]


@pytest.fixture
def digest_html() -> str:
    html = sample_digest()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "email-digest.html").write_text(html)
    return html


@pytest.fixture
def browser(digest_html):
    # After the ORM work: inside Playwright's event loop Django would open a second
    # connection, which the test's open transaction locks out.
    require_chromium()
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def serve_only_the_thumbnails(route) -> None:
    """An email's web view loads nothing but the images it names; here a stand-in."""
    if route.request.url.startswith("https://cdn-thumbnails.huggingface.co/"):
        route.fulfill(status=200, content_type="image/svg+xml", body=CARD_SVG)
    else:
        route.abort()


@pytest.mark.parametrize(
    ("name", "width", "scheme"),
    [
        ("desktop", 1280, "light"),
        ("desktop-dark", 1280, "dark"),
        ("column", 600, "light"),
        ("column-dark", 600, "dark"),
        ("phone", 390, "light"),
        ("phone-dark", 390, "dark"),
    ],
)
def test_the_digest_reads_well_at_each_width(digest_html, browser, name, width, scheme):
    context = browser.new_context(
        viewport={"width": width, "height": 900},
        color_scheme=scheme,
        device_scale_factor=1,
        java_script_enabled=False,
    )
    page = context.new_page()
    page.route("**/*", serve_only_the_thumbnails)
    page.set_content(digest_html)

    page.screenshot(path=str(SCREENSHOTS / f"email-digest-{name}.png"), full_page=True)

    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, "nothing may be wider than the screen"
    title = page.get_by_role("link", name="Knowledge Distillation for Small Language Models")
    assert title.is_visible()
    assert page.get_by_text("Matching your keywords").is_visible()  # 9 papers: sections
    card_image = page.get_by_role("img", name="Knowledge Distillation for Small Language")
    thumbnail = card_image.bounding_box()
    assert thumbnail["width"] <= min(width, 600) - 20  # fits the card at every width
    assert page.get_by_text("+38 since yesterday").is_visible()
    assert page.get_by_text("Two-step α-Distillation of Diffusion Samplers").is_visible()
    card = page.locator("td.card").first.bounding_box()
    assert card["width"] >= min(width, 600) - 40
    background = page.evaluate(
        "getComputedStyle(document.querySelector('td.card')).backgroundColor"
    )
    assert (background == "rgb(255, 255, 255)") == (scheme == "light")
    context.close()


@pytest.fixture
def web_html() -> str:
    return sample_digest(web=True, email="web@example.org")


@pytest.mark.parametrize(("width", "scheme"), [(1280, "light"), (390, "dark")])
def test_the_web_version_folds_each_abstract_under_its_gist(web_html, browser, width, scheme):
    html = web_html
    context = browser.new_context(
        viewport={"width": width, "height": 900}, color_scheme=scheme, java_script_enabled=False
    )
    page = context.new_page()
    page.route("**/*", serve_only_the_thumbnails)
    page.set_content(html)
    summary = page.locator("details", has_text="GSM8K").locator("summary")

    assert page.get_by_text("teacher's accuracy on GSM8K").first.is_hidden()
    summary.click()
    assert page.get_by_text("teacher's accuracy on GSM8K").first.is_visible()
    page.screenshot(path=str(SCREENSHOTS / f"web-digest-{width}-{scheme}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    context.close()
