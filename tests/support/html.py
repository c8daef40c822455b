"""Reading the app's pages in tests by their `data-test` hooks (the standard library's
html.parser), rather than with regular expressions over the markup.

    page = parse_page(response.text)
    [row.get("data-ticket") for row in page.all("queue-row")]
    page.one("summary").pairs()["Téléphone"]

`text` is what a reader sees (entities decoded, whitespace collapsed); `inner` is the markup
inside an element, as served (to check escaping).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list[Element | str] = field(default_factory=list)
    inner: str = ""  # the markup between the start and end tags, as served

    def get(self, name: str) -> str | None:
        return self.attrs.get(name)

    @property
    def classes(self) -> list[str]:
        return (self.attrs.get("class") or "").split()

    @property
    def text(self) -> str:
        return " ".join("".join(self._texts()).split())

    def _texts(self) -> list[str]:
        out: list[str] = []
        for child in self.children:
            out.extend([child] if isinstance(child, str) else child._texts())
        return out

    def _walk(self) -> list[Element]:
        out: list[Element] = []
        for child in self.children:
            if isinstance(child, Element):
                out.append(child)
                out.extend(child._walk())
        return out

    def all(self, hook: str) -> list[Element]:
        """The elements marked `data-test="<hook>"` inside this one, in document order."""
        return [e for e in self._walk() if e.attrs.get("data-test") == hook]

    def one(self, hook: str) -> Element:
        """The single element marked `data-test="<hook>"` (fails on none or several)."""
        found = self.all(hook)
        assert len(found) == 1, f'{len(found)} elements with data-test="{hook}"'
        return found[0]

    def has(self, hook: str) -> bool:
        return bool(self.all(hook))

    def pairs(self) -> dict[str, str]:
        """A definition list (<dl>) as {term: definition}, both as text."""
        terms: dict[str, str] = {}
        term = None
        for child in self._walk():
            if child.tag == "dt":
                term = child.text
            elif child.tag == "dd" and term is not None:
                terms[term] = child.text
                term = None
        return terms


class _Builder(HTMLParser):
    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.source = source
        self.root = Element("#document", {})
        self.stack: list[tuple[Element, int]] = [(self.root, 0)]
        self.lines = [0]
        for line in source.splitlines(keepends=True):
            self.lines.append(self.lines[-1] + len(line))

    def _offset(self) -> int:
        line, column = self.getpos()
        return self.lines[line - 1] + column

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.stack[-1][0].children.append(element)
        if tag not in VOID:
            end = self.source.index(">", self._offset()) + 1
            self.stack.append((element, end))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1][0].children.append(Element(tag, {n: v or "" for n, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth][0].tag == tag:
                end = self._offset()
                for element, start in self.stack[depth:]:
                    element.inner = self.source[start:end]
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1][0].children.append(data)


def parse_page(source: str) -> Element:
    """The parsed page: its root element."""
    builder = _Builder(source)
    builder.feed(source)
    builder.close()
    return builder.root
