"""LaTeX scanning shared by the problem normaliser and answer extraction: every `\\boxed{}`, and the last."""

from __future__ import annotations

import re

_BOX_OPEN_RE = re.compile(r"\\(?:boxed|fbox)\s*\{")


def boxed_spans(text: str) -> list[tuple[int, int, int]]:
    """(box start, content start, content end) of every balanced `\\boxed{...}` / `\\fbox{...}`,
    ordered by where the box opens; one linear pass, however the braces nest or fail to close."""
    opens = {m.end() - 1: m.start() for m in _BOX_OPEN_RE.finditer(text)}
    if not opens:
        return []
    stack: list[int] = []
    spans: list[tuple[int, int, int]] = []
    for i in range(min(opens), len(text)):
        char = text[i]
        if char == "{":
            stack.append(i)
        elif char == "}" and stack:
            opened = stack.pop()
            start = opens.get(opened)
            if start is not None:
                spans.append((start, opened + 1, i))
    return sorted(spans)


def last_boxed(text: str) -> str | None:
    """Content of the last balanced `\\boxed{...}` / `\\fbox{...}`, or None; one linear pass.

    "Last" is by opening position, so `\\boxed{a \\boxed{b}}` gives "b" and an unbalanced
    (truncated) final box falls back to the previous balanced one.
    """
    spans = boxed_spans(text)
    return text[spans[-1][1] : spans[-1][2]].strip() if spans else None
