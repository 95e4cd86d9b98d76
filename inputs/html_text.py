"""HTML to plain text that keeps math as LaTeX (resiliparse for everything else).

OpenWebMath showed that generic extractors drop the math of math pages: MathJax keeps its
source in ``<script type="math/tex">`` (dropped with every script), KaTeX and MathML render
into nested spans and ``<math>`` trees whose text is a jumble of glyphs. Before extraction each
math element is replaced by a text node holding its LaTeX:
- MathJax 2 ``<script type="math/tex">`` -> ``$...$``; ``mode=display`` -> ``$$...$$``;
- KaTeX ``<span class="katex">`` -> the LaTeX of its ``annotation encoding="application/x-tex"``
  (``$$`` when inside ``katex-display``);
- ``<math>``: its x-tex annotation, else its ``alttext``, else a small MathML-to-LaTeX
  conversion (mi/mn/mo/mrow/mfrac/msup/msub/msubsup/msqrt/mroot/mtext);
- TeX written in the page (``$...$``, ``$$...$$``, ``\\(...\\)``, ``\\[...\\]``) is already text
  and passes through unchanged.
Then resiliparse's ``extract_plain_text`` (formatting kept, no main-content heuristics: they
drop short math paragraphs) gives the text; it drops ``<script>``, ``<style>`` and
``<noscript>`` content, which is why MathJax scripts are replaced first. MathJax 3 output
(``mjx-container``) keeps no source in the page and is left to the extractor.
"""

from __future__ import annotations

from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.html import HTMLTree

_TEX = 'annotation[encoding="application/x-tex"]'


def _mathml_to_latex(node) -> str:  # resiliparse DOMNode (untyped Cython class)
    """A small MathML -> LaTeX conversion for presentation MathML without a TeX annotation."""
    if node.type != 1:  # not an element: text node
        return (node.text or "").strip()
    kids = [c for c in node.child_nodes if c.type == 1 or (c.text or "").strip()]
    parts = [_mathml_to_latex(c) for c in kids]
    tag = node.tag.lower()
    if tag == "mfrac" and len(parts) == 2:
        return f"\\frac{{{parts[0]}}}{{{parts[1]}}}"
    if tag == "msup" and len(parts) == 2:
        return f"{{{parts[0]}}}^{{{parts[1]}}}"
    if tag == "msub" and len(parts) == 2:
        return f"{{{parts[0]}}}_{{{parts[1]}}}"
    if tag == "msubsup" and len(parts) == 3:
        return f"{{{parts[0]}}}_{{{parts[1]}}}^{{{parts[2]}}}"
    if tag == "msqrt":
        return f"\\sqrt{{{' '.join(parts)}}}"
    if tag == "mroot" and len(parts) == 2:
        return f"\\sqrt[{parts[1]}]{{{parts[0]}}}"
    if tag == "mtext":
        return f"\\text{{{node.text.strip()}}}"
    if tag == "annotation-xml":
        return ""
    return " ".join(p for p in parts if p)


def _math_latex(math) -> str:
    annotation = math.query_selector(_TEX)
    if annotation is not None and annotation.text.strip():
        return annotation.text.strip()
    alt = math.getattr("alttext")
    if alt:
        return alt.strip()
    return _mathml_to_latex(math)


def _replace(tree: HTMLTree, node, latex: str, display: bool) -> None:
    text = f" $${latex}$$ " if display else f" ${latex}$ "
    node.parent.replace_child(tree.create_text_node(text), node)


def _inline_math(tree: HTMLTree) -> int:
    """Replace every math element of ``tree`` by its LaTeX; return how many were replaced."""
    count = 0
    root = tree.document
    for script in root.query_selector_all('script[type^="math/tex"]'):
        _replace(tree, script, script.text.strip(), "mode=display" in (script.getattr("type") or ""))
        count += 1
    for katex in root.query_selector_all("span.katex"):
        annotation = katex.query_selector(_TEX)
        if annotation is None or katex.parent is None:
            continue
        display = "katex-display" in (katex.parent.getattr("class") or "")
        _replace(tree, katex, annotation.text.strip(), display)
        count += 1
    for math in root.query_selector_all("math"):
        if math.parent is not None:
            _replace(tree, math, _math_latex(math), math.getattr("display") == "block")
            count += 1
    return count


def html_to_text(html: str, keep_math: bool = True) -> tuple[str, int]:
    """(plain text, number of math elements turned into LaTeX) for an HTML document."""
    tree = HTMLTree.parse(html)
    n_math = _inline_math(tree) if keep_math else 0
    text = extract_plain_text(tree, preserve_formatting=True, main_content=False, alt_texts=False)
    return text.strip(), n_math
