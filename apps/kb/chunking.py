"""Pure markdown handling: front matter, the title, and the split into chunks along headings.

A chunk is one section's text under its heading path ("Checkout latency > Mitigation > Roll
back"), the document's title first. A section longer than the cap is cut at paragraph
boundaries (then lines, then words), every piece keeping the section's heading path.
Headings inside fenced code blocks are code, not structure.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import yaml

HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
FENCE = re.compile(r"^[ \t]*(```|~~~)")
FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(\r?\n|\Z)", re.S)
SEPARATOR = " > "


@dataclass(frozen=True)
class Chunk:
    ordinal: int
    heading: str
    text: str

    @property
    def embedded_text(self) -> str:
        """What the model embeds and the hash covers: the heading path is a section's context."""
        return embedded_text(self.heading, self.text)

    @property
    def content_hash(self) -> str:
        return sha256(self.embedded_text)


def embedded_text(heading: str, text: str) -> str:
    return f"{heading}\n{text}"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class MarkdownFile:
    """What a markdown file says about itself: front matter fields and the body after it."""

    title: str
    meta: dict
    body: str


class FrontMatterError(ValueError):
    pass


def read_markdown(text: str, *, fallback_title: str) -> MarkdownFile:
    """Split optional YAML front matter (`---` … `---`) from the body; the title is the front
    matter's `title`, else the first level-1 heading, else `fallback_title` (the file name).
    Raises FrontMatterError when the front matter is not a YAML mapping."""
    meta: dict = {}
    match = FRONT_MATTER.match(text)
    if match:
        try:
            meta = yaml.safe_load(match.group(1)) or {}
        except yaml.YAMLError as exc:
            raise FrontMatterError(f"front matter is not valid YAML: {exc}") from None
        if not isinstance(meta, dict):
            raise FrontMatterError("front matter must be a YAML mapping")
        text = text[match.end() :]
    title = meta.get("title")
    if not isinstance(title, str) or not title.strip():
        title = first_title(text) or fallback_title
    return MarkdownFile(title=title.strip(), meta=meta, body=text)


def first_title(body: str) -> str:
    for level, text in _headings(body):
        if level == 1:
            return text
    return ""


def _headings(body: str):
    fenced = False
    for line in body.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced and (match := HEADING.match(line)):
            yield len(match.group(1)), match.group(2).strip()


def split(title: str, body: str, *, max_chars: int) -> list[Chunk]:
    """The chunks of a document, in order. A level-1 heading equal to the title is the title
    itself; sections with no text give no chunk (their heading lives on in their children's
    paths)."""
    sections: list[tuple[str, list[str]]] = []
    stack: list[tuple[int, str]] = []
    lines: list[str] = []
    fenced = False

    def path() -> str:
        return SEPARATOR.join([title] + [text for _, text in stack])

    def flush() -> None:
        sections.append((path(), lines.copy()))
        lines.clear()

    for line in body.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        match = None if fenced else HEADING.match(line)
        if match is None:
            lines.append(line)
            continue
        flush()
        level, text = len(match.group(1)), match.group(2).strip()
        while stack and stack[-1][0] >= level:
            stack.pop()
        if not (level == 1 and not stack and text.casefold() == title.casefold()):
            stack.append((level, text))
    flush()

    chunks: list[Chunk] = []
    for heading, section in sections:
        for piece in _pieces("\n".join(section).strip(), max_chars):
            chunks.append(Chunk(ordinal=len(chunks), heading=heading, text=piece))
    return chunks


def _pieces(text: str, max_chars: int) -> list[str]:
    """`text` cut into pieces of at most max_chars: whole paragraphs where they fit, else
    whole lines, else whole words (a word longer than the cap is cut)."""
    if not text:
        return []
    if len(text) <= max_chars:
        return [text]
    for separator in ("\n\n", "\n", " "):
        parts = [p.strip() for p in text.split(separator) if p.strip()]
        if len(parts) > 1:
            return _pack(parts, separator, max_chars)
    return [text[i : i + max_chars] for i in range(0, len(text), max_chars)]


def _pack(parts: list[str], separator: str, max_chars: int) -> list[str]:
    pieces: list[str] = []
    current = ""
    for part in parts:
        if len(part) > max_chars:
            if current:
                pieces.append(current)
                current = ""
            pieces.extend(_pieces(part, max_chars))
        elif not current:
            current = part
        elif len(current) + len(separator) + len(part) <= max_chars:
            current += separator + part
        else:
            pieces.append(current)
            current = part
    if current:
        pieces.append(current)
    return pieces
