"""Hugging Face hub datasets named by one spec grammar, used by every stage that can read one.

    hf:NAME[:CONFIG]@SPLIT        e.g. hf:openai/gsm8k:main@test, hf:HuggingFaceH4/MATH-500@test

Loading needs `datasets` and the network (or its local cache); nothing in the embedded default
or the `real` profile names a hub dataset, so both run offline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

PREFIX = "hf:"
_SPEC_RE = re.compile(r"^hf:(?P<name>[^:@\s]+)(?::(?P<config>[^@\s]+))?@(?P<split>\S+)$")


@dataclass(frozen=True)
class HubSpec:
    name: str
    config: str | None
    split: str

    @property
    def label(self) -> str:
        """A short, path-safe label: `openai-gsm8k/test`."""
        return f"{self.name.replace('/', '-')}/{self.split}"


def is_hub_spec(value: str) -> bool:
    return value.startswith(PREFIX)


def parse_hub_spec(spec: str) -> HubSpec:
    """The parts of `hf:NAME[:CONFIG]@SPLIT`; ValueError quoting the spec otherwise."""
    match = _SPEC_RE.match(spec.strip())
    if not match:
        raise ValueError(f"expected hf:NAME[:CONFIG]@SPLIT, got {spec!r}")
    return HubSpec(match["name"], match["config"], match["split"])


def iter_hub_rows(spec: str) -> Iterator[dict]:
    """Rows of the hub split as plain dicts (streamed: a crawl-sized dataset is never held whole)."""
    parsed = parse_hub_spec(spec)
    import datasets  # lazy: only hub sources need it, and it is slow to import

    rows = datasets.load_dataset(parsed.name, parsed.config, split=parsed.split, streaming=True)
    for row in rows:
        yield dict(row)
