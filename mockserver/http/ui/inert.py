"""A captured mail's HTML part made inert for the dashboard: an allow-list rewrite with the stdlib HTML tokenizer.

The mail is attacker-controlled. The dashboard shows it in an ``<iframe sandbox="">`` (no script, opaque origin)
under a strict CSP, which is the security boundary; this rewrite comes first so the browser never even meets a
script, an event handler or a remote reference (which it would refuse, noisily, in its console). What survives:
the tags of an ordinary mail (text, tables, lists, links, images), every attribute re-escaped, minus ``on*``
handlers; ``src``-like attributes only with ``data:image/`` URLs; links only ``http(s):``/``mailto:``; CSS
without ``url()``/``@import``. Counted as *blocked*: each remote reference removed.
"""

from __future__ import annotations

import re
from html import escape
from html.parser import HTMLParser

__all__ = ["FRAME_CSP", "inert_html"]

#: the policy the iframe's document carries itself (on top of the page's, which it inherits)
FRAME_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:"

_KEEP = frozenset(
    "html head body title style div span p br hr h1 h2 h3 h4 h5 h6 b strong i em u s strike small big sub sup "
    "font center blockquote pre code tt kbd samp var ul ol li dl dt dd table thead tbody tfoot tr td th caption "
    "colgroup col a img abbr address cite del ins mark q section article header footer main nav aside figure "
    "figcaption wbr label details summary time".split()
)
#: dropped with everything inside them
_DROP_WITH_CONTENT = frozenset(
    "script iframe frame frameset object embed applet noscript template svg math textarea select button "
    "noembed noframes xmp plaintext portal audio video canvas".split()
)
_VOID = frozenset("br hr img col wbr".split())
_URL_ATTRS = frozenset("src srcset lowsrc dynsrc background poster data action formaction xlink:href cite".split())
_CSS_REMOTE = re.compile(r"url\s*\(|@import|expression\s*\(|behavior\s*:", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"@import[^;]*;?", re.IGNORECASE)
_CSS_URL = re.compile(r"url\s*\([^)]*\)", re.IGNORECASE)
_HREF_OK = re.compile(r"^\s*(https?:|mailto:|#)", re.IGNORECASE)
_DATA_IMAGE = re.compile(r"^\s*data:image/(png|gif|jpe?g|webp|bmp);", re.IGNORECASE)


class _Inert(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.blocked = 0
        self._dropping: list[str] = []  # the open elements whose content is being dropped
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._dropping:
            if tag in _DROP_WITH_CONTENT and tag not in _VOID:
                self._dropping.append(tag)
            return
        if tag in _DROP_WITH_CONTENT:
            self.blocked += tag in ("iframe", "frame", "object", "embed", "applet", "audio", "video")
            self._dropping.append(tag)
            return
        if tag not in _KEEP:
            return
        kept = []
        for name, value in attrs:
            value = value or ""
            if name.startswith("on") or ":" in name and name != "xml:lang":
                continue
            if name in _URL_ATTRS:
                if not (name == "src" and _DATA_IMAGE.match(value)):
                    self.blocked += 1
                    continue
            elif name == "href" and not _HREF_OK.match(value):
                continue
            elif name == "style" and _CSS_REMOTE.search(value):
                self.blocked += 1
                continue
            kept.append(f' {name}="{escape(value, quote=True)}"')
        if tag == "a":
            kept.append(' target="_blank" rel="noopener noreferrer"')
        self._in_style = tag == "style"
        self.out.append(f"<{tag}{''.join(kept)}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._dropping:
            if tag == self._dropping[-1]:
                self._dropping.pop()
            return
        if tag in _KEEP and tag not in _VOID:
            self._in_style = False
            self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if self._dropping:
            return
        if self._in_style:  # CSS text: no remote loads, and nothing that closes the element early
            if _CSS_REMOTE.search(data):
                self.blocked += 1
                data = _CSS_REMOTE.sub("blocked(", _CSS_URL.sub("none", _CSS_IMPORT.sub("", data)))
            self.out.append(data.replace("<", "\\3c "))
        else:
            self.out.append(escape(data, quote=False))


def inert_html(html: str) -> tuple[str, int]:
    """``html`` rewritten inert, and how many remote references were removed. Never raises."""
    parser = _Inert()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # the tokenizer is lenient; a mail must never break the page
        return escape(html), 0
    head = f'<!doctype html><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="{FRAME_CSP}">'
    return head + "".join(parser.out), parser.blocked
