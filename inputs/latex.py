"""LaTeX scanning shared by the problem normaliser and answer extraction: the last `\\boxed{}`."""

from __future__ import annotations

import re

_BOX_OPEN_RE = re.compile(r"\\(?:boxed|fbox)\s*\{")


def last_boxed(text: str) -> str | None:
    """Content of the last balanced `\\boxed{...}` / `\\fbox{...}`, or None; one linear pass.

    "Last" is by opening position, so `\\boxed{a \\boxed{b}}` gives "b" and an unbalanced
    (truncated) final box falls back to the previous balanced one.
    """
    opens = {m.end() - 1: m.start() for m in _BOX_OPEN_RE.finditer(text)}
    if not opens:
        return None
    stack: list[int] = []
    best: tuple[int, int, int] | None = None  # (box start, content start, content end)
    first = min(opens)
    for i in range(first, len(text)):
        char = text[i]
        if char == "{":
            stack.append(i)
        elif char == "}" and stack:
            opened = stack.pop()
            start = opens.get(opened)
            if start is not None and (best is None or start > best[0]):
                best = (start, opened + 1, i)
    return None if best is None else text[best[1] : best[2]].strip()
