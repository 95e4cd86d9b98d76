"""Bytes of a web document to text: declared charsets are candidates, not facts.

Order of evidence (after the HTML standard's, with detection allowed to overrule):
1. a byte-order mark;
2. UTF-8, then a multi-byte label (the HTTP ``charset``, then the document's ``<meta charset>``,
   ``<meta http-equiv>`` or ``<?xml encoding>``), whichever decodes without error: legacy text is
   almost never valid UTF-8 by accident (pages labelled ISO-8859-1 that are really UTF-8 are
   common), nor valid GB18030 or Shift_JIS throughout when it is something else;
3. otherwise the labels and resiliparse's detector (uchardet), the first that decodes without
   error, except that a multi-byte detection goes before a single-byte label: any byte string
   "decodes" as windows-1252, so a GBK page labelled latin-1 would otherwise become mojibake.
   Every label is first widened to the superset browsers use (GB2312 and GBK -> GB18030,
   Shift_JIS -> CP932, EUC-KR -> CP949, ISO-8859-1 and ASCII -> windows-1252 ...): servers name
   the subset and send the superset;
4. when nothing decodes cleanly, the best candidate with undecodable bytes shown as U+FFFD
   (``decoded_with_replacements``), or, above ``_MAX_REPLACED`` of the characters,
   ``bad_encoding``: the page is dropped. Bytes are never dropped silently.
"""

from __future__ import annotations

import codecs
import re
from collections import Counter

from resiliparse.parse.encoding import detect_encoding

_MAX_REPLACED = 0.1  # share of U+FFFD above which a document counts as undecodable
_PRESCAN = 4096  # bytes searched for an in-document declaration (HTML's prescan uses 1024)
_DETECT_BYTES = 32768  # bytes the detector sees: enough for a confident guess, 4x faster than its default
_META = re.compile(rb"""<meta[^>]{0,512}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_XML = re.compile(rb"""<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
# Labels Python does not know, to the codec it does.
_ALIASES = {"x-sjis": "shift_jis", "windows-31j": "cp932", "x-gbk": "gbk", "x-euc-jp": "euc_jp",
            "windows-874": "cp874", "x-cp1252": "cp1252", "x-mac-roman": "mac_roman", "unicode": "utf-16"}
# Codec (Python's canonical name) -> the codecs to try, superset first. Latin-1 is never tried:
# it maps every byte, so it would "decode" binary junk; its C1 range is windows-1252 in browsers.
_SUPERSETS = {
    "ascii": ("cp1252",), "iso8859-1": ("cp1252",),
    "gb2312": ("gb18030",), "gbk": ("gb18030",), "shift_jis": ("cp932", "shift_jis_2004"),
    "cp932": ("cp932", "shift_jis_2004"), "euc_jp": ("euc_jp", "euc_jis_2004"), "euc_kr": ("cp949",),
    "big5": ("big5hkscs", "cp950"), "iso8859-9": ("cp1254",), "tis-620": ("cp874",), "iso8859-11": ("cp874",),
}
_MULTI_BYTE = {"gb18030", "cp932", "shift_jis_2004", "euc_jp", "euc_jis_2004", "cp949", "big5hkscs", "cp950",
               "utf-8", "utf-16", "utf-32", "iso2022_jp", "euc_kr", "big5"}


def _codecs(label: str | None, counts: Counter[str]) -> tuple[str, ...]:
    """Codecs to try for a charset label (superset first); () for an unknown label (counted)."""
    if not label:
        return ()
    label = label.strip().strip("\"'").lower()
    try:
        name = codecs.lookup(_ALIASES.get(label, label)).name
    except LookupError:
        counts["unknown_charset"] += 1
        return ()
    return _SUPERSETS.get(name, (name,))


def _declared_in_document(body: bytes) -> str | None:
    head = body[:_PRESCAN]
    match = _META.search(head) or _XML.search(head)
    return match[1].decode("ascii") if match else None


def _strict(body: bytes, codec: str) -> str | None:
    try:
        return body.decode(codec)
    except UnicodeDecodeError:
        return None


def decode_document(body: bytes, http_charset: str | None, counts: Counter[str]) -> str | None:
    """The text of ``body`` (see the module doc for the order); None when undecodable (counted
    ``bad_encoding``). ``charset_overruled`` counts documents whose HTTP label was not used."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return _fallback(body[len(bom):] if codec == "utf-8" else body, codec, counts)
    if body.isascii():
        return body.decode("ascii")
    declared = _codecs(http_charset, counts)
    labels = list(dict.fromkeys(declared + _codecs(_declared_in_document(body), counts)))
    # A multi-byte label that decodes cleanly is taken without detection (the slow step): text
    # in another encoding almost never forms valid multi-byte sequences throughout.
    for codec in ["utf-8"] + [c for c in labels if c in _MULTI_BYTE]:
        text = _strict(body, codec)
        if text is not None:
            if declared and codec not in declared:
                counts["charset_overruled"] += 1
            return text
    detected = _codecs(detect_encoding(body, _DETECT_BYTES), counts)
    if detected and detected[0] in _MULTI_BYTE and labels and labels[0] not in _MULTI_BYTE:
        candidates = list(dict.fromkeys(detected + tuple(labels)))  # a multi-byte detection beats a single-byte label
    else:
        candidates = list(dict.fromkeys(tuple(labels) + detected))
    for codec in candidates:
        text = _strict(body, codec)
        if text is not None:
            if declared and codec not in declared:
                counts["charset_overruled"] += 1
            return text
    return _fallback(body, candidates[0] if candidates else "utf-8", counts)


def _fallback(body: bytes, codec: str, counts: Counter[str]) -> str | None:
    """Decode with U+FFFD for the bytes ``codec`` cannot read; None when they are too many."""
    text = body.decode(codec, errors="replace")
    replaced = text.count("\ufffd")
    if replaced > _MAX_REPLACED * max(len(text), 1):
        counts["bad_encoding"] += 1
        return None
    if replaced:
        counts["decoded_with_replacements"] += 1
    return text
