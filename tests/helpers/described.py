"""What a screen reader says of a form control beside its name: its description
(`aria-describedby`, the texts of the elements it names) and whether it is marked invalid."""

from __future__ import annotations

from html.parser import HTMLParser

VOID = {"input", "br", "img", "meta", "link", "hr", "option"}


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.attrs: dict[str, dict[str, str]] = {}  # id -> attributes
        self.texts: dict[str, list[str]] = {}  # id -> text pieces
        self._open: list[str | None] = []  # ids of the open elements (None: no id)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        element_id = values.get("id")
        if element_id:
            self.attrs[element_id] = values
            self.texts[element_id] = []
        if tag not in VOID:
            self._open.append(element_id)

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID and self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for element_id in filter(None, self._open):
            self.texts[element_id].append(data)


def described(html: str, control_id: str) -> tuple[str, bool]:
    """(the description of the element with this id, whether it has aria-invalid="true")."""
    page = _Page()
    page.feed(html)
    attrs = page.attrs[control_id]
    ids = attrs.get("aria-describedby", "").split()
    text = " ".join(" ".join("".join(page.texts.get(i, [])).split()) for i in ids)
    return text, attrs.get("aria-invalid") == "true"
