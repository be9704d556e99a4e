"""What a browser would post back from an admin page, for tests that save through it."""

from __future__ import annotations

from html.parser import HTMLParser


class _FormFields(HTMLParser):
    """What a browser submits for the page's main form: every named input, select and
    textarea as it stands (checkboxes only when ticked)."""

    def __init__(self) -> None:
        super().__init__()
        self.data: list[tuple[str, str]] = []
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        name = a.get("name", "")
        if tag == "input" and name and a.get("type") not in ("submit", "button"):
            if a.get("type") not in ("checkbox", "radio") or "checked" in a:
                self.data.append((name, a.get("value", "")))
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select and "selected" in a:
            self.data.append((self._select, a.get("value", "")))
        elif tag == "textarea":
            self._textarea = name
            self.data.append((name, ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            name, text = self.data[-1]
            self.data[-1] = (name, text + data)


def submitted(page: str, form_id: str = "subscriber_form") -> dict[str, list[str]]:
    """The fields of the admin form `form_id` (`<model>_form`) as a browser posts them."""
    form = page.split(f'id="{form_id}"', 1)[1].split("</form>", 1)[0]
    parser = _FormFields()
    parser.feed("<form " + form)
    out: dict[str, list[str]] = {}
    for name, value in parser.data:
        out.setdefault(name, []).append(value.lstrip("\n"))
    return out
