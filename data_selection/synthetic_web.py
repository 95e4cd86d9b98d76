"""Synthetic web: a small, labelled stand-in for Common Crawl and for the OpenWebMath seed corpus.

The paper mines 40B Common Crawl pages with a classifier trained on OpenWebMath; neither fits
here, so this module generates a pool whose ground truth is known (``is_math``, ``kind``,
``dup_cluster``, ``benchmark_id``) so that every later stage can be scored.

What the pool holds:
- math-only hosts, mixed hosts (math under /questions/ or /courses/, other pages elsewhere, as
  mathoverflow-like sites inside larger sites), and non-math hosts;
- math kinds: LaTeX exposition, Q&A threads, worked word problems, lecture notes;
- hard negatives: number-heavy non-math (sports, recipes, prices, timetables) and prose (news,
  travel, reviews), some sprinkled with words like "percent" or "average";
- near-duplicates: mirror hosts re-publish pages with their own header/footer and an ad line;
- URL duplicates: the same page re-crawled under URL variants that normalise to one URL;
- planted contamination: pages quoting a benchmark test problem verbatim.

Departure: the seed corpus holds only LaTeX and lecture-note pages, a deliberately narrower
distribution than the pool's math (as OpenWebMath under-covers some math genres). Q&A threads
share the seed's math vocabulary, so round 1 finds most of them; word problems are written in
everyday words and plain arithmetic, so round 1 misses about half of them and only domain
discovery (their hosts' other pages are collected) brings them into the seed: iteration has to
matter. Text is template-generated from word lists, not HTML.
"""

from __future__ import annotations

import random
import re
from typing import Callable

from tqdm import tqdm

from data_selection.config import WebConfig

_W = str.split
FUNCTION = _W("the a of to and in that it for on with as this by at from but or which then so also")
GENERIC_NOUNS = _W(
    "time people way day year thing world life part place case point group work week result "
    "example question idea story family friend house room morning evening reason side moment "
    "plan change area problem fact note list page site member report line order"
)
GENERIC_ADJ = _W("good new first last long great little own other old right big high small large next early important")
GENERIC_VERBS = _W("found saw made took gave told asked used wanted tried called kept left felt brought began")
MATH_TERMS = _W(
    "equation integer prime polynomial function derivative integral matrix vector theorem lemma "
    "fraction sum product root solution variable coefficient sequence series limit probability "
    "angle triangle circle radius perimeter factor divisor multiple remainder exponent logarithm "
    "inequality parabola slope subset denominator numerator quotient digit square cube "
    "eigenvalue determinant convergence bound corollary identity polygon hypotenuse tangent "
    "domain range interval mean median permutation combination congruence modulus"
)
MATH_VERBS = _W(
    "solve simplify compute prove show evaluate differentiate integrate factor expand substitute "
    "divide multiply add subtract verify derive rewrite bound estimate check"
)
MATH_ADJ = _W("positive negative rational irrational real complex even odd linear quadratic finite infinite continuous convex")
PEOPLE = _W("Tom Anna Li Maria Ahmed Sofia Ken Priya Lucas Emma Omar Yuki Carlos Nina Ivan Grace Leo Zara Sam Ruth")
OBJECTS = _W("apples marbles tickets books pencils cookies stickers coins eggs oranges cards bottles boxes shirts plants")
USERS = _W("user123 mathfan proofreader anon42 curious_cat jdoe eulerian tensorboy calc_help qwerty")
TEAMS = _W("Rovers United Wanderers Eagles Tigers Sharks Falcons Rangers Athletic Dynamo Comets Lions")
FOODS = _W("flour sugar butter salt garlic onion tomato rice pepper milk cream lemon basil chicken beans cheese")
PLACES = _W("Lisbon Oslo Kyoto Lima Cairo Dublin Austin Perth Riga Porto Quito Hanoi Bergen Nairobi Leeds")
PRODUCTS = _W("headphones blender laptop jacket kettle backpack camera sofa lamp charger monitor sneakers")
ORGS = _W("council ministry committee union agency court board police company university hospital")
TOPICS = _W("election budget storm festival strike museum bridge school traffic housing harvest flood")
DAYS = _W("Monday Tuesday Wednesday Thursday Friday Saturday Sunday")
REVIEW_ADJ = _W("sturdy cheap flimsy comfortable noisy reliable stylish heavy bright quiet")
SYLLABLES = _W("ka lo mi ra ne tu vo si pe da ri mo zu fe ga bi no ta le xu")
TLDS = _W("com org net io info")
VARS = _W("x y z n k t")


def _latex(rng: random.Random) -> str:
    a, b, n, k = rng.randint(1, 9), rng.randint(2, 12), rng.randint(2, 20), rng.randint(1, 5)
    v = rng.choice(VARS)
    forms = (
        f"${v}^{{{k}}}$", f"$\\frac{{{a}}}{{{b}}}$", f"$\\sqrt{{{n}}}$",
        f"$\\int_0^{{{n}}} {v}^{{{k}}} \\, d{v}$", f"$\\sum_{{i=1}}^{{{n}}} i^{{{k}}}$",
        "$a^2 + b^2 = c^2$", f"$f({v}) = {a}{v} + {b}$", f"$\\lim_{{{v} \\to \\infty}} \\frac{{{a}}}{{{v}}}$",
        f"$\\alpha + \\beta = {n}$", f"${v} \\in \\mathbb{{R}}$", f"$\\binom{{{n}}}{{{k}}}$",
        f"$\\frac{{d}}{{d{v}}} {v}^{{{k}}} = {k}{v}^{{{k - 1}}}$", f"${v} \\equiv {a} \\pmod{{{b}}}$",
    )
    return rng.choice(forms)


def _plain_expr(rng: random.Random) -> str:
    a, b, c = rng.randint(2, 9), rng.randint(1, 30), rng.randint(1, 60)
    forms = (f"{a}x + {b} = {c}", f"x^2 - {a}x + {b} = 0", f"{a}/{b} + {c}/{a}", f"sqrt({c})",
             f"{a} * {b} = {a * b}", f"f(x) = x^{a} - {b}", f"({a} + {b})^2", f"log({c})")
    return rng.choice(forms)


def _arith(rng: random.Random) -> str:
    a, b = rng.randint(2, 60), rng.randint(2, 40)
    return rng.choice((f"{a} + {b} = {a + b}", f"{a} x {b} = {a * b}", f"{a + b} - {b} = {a}"))


_SLOTS: dict[str, Callable[[random.Random], str]] = {
    "M": lambda r: r.choice(MATH_TERMS), "V": lambda r: r.choice(MATH_VERBS),
    "MA": lambda r: r.choice(MATH_ADJ), "X": _latex, "E": _plain_expr, "AR": _arith,
    "N": lambda r: str(r.randint(1, 99)), "B": lambda r: str(r.randint(100, 9999)),
    "G": lambda r: r.choice(GENERIC_NOUNS), "A": lambda r: r.choice(GENERIC_ADJ),
    "GV": lambda r: r.choice(GENERIC_VERBS), "F": lambda r: r.choice(FUNCTION),
    "P": lambda r: r.choice(PEOPLE), "O": lambda r: r.choice(OBJECTS), "U": lambda r: r.choice(USERS),
    "T": lambda r: r.choice(TEAMS), "FO": lambda r: r.choice(FOODS), "C": lambda r: r.choice(PLACES),
    "PR": lambda r: r.choice(PRODUCTS), "ORG": lambda r: r.choice(ORGS), "TOP": lambda r: r.choice(TOPICS),
    "D": lambda r: r.choice(DAYS), "RA": lambda r: r.choice(REVIEW_ADJ),
    "H": lambda r: f"{r.randint(5, 23):02d}:{r.choice(('00', '15', '30', '45'))}",
    "PC": lambda r: f"{r.randint(1, 499)}.{r.randint(0, 99):02d}",
}

_GENERIC_TEMPLATES = (
    "It was a {A} {G} for the {G} and we {GV} the {G} .",
    "{F} {G} {GV} a {A} {G} {F} the {G} .",
    "Last {D} we {GV} the {A} {G} again .",
    "The {G} of this {G} is {A} {F} {A} .",
    "Read the {A} {G} and share it with a {G} .",
)
_TEMPLATES: dict[str, tuple[str, ...]] = {
    "latex": (
        "Let {X} be a {MA} {M} .", "Theorem {N} . If {X} then {X} .",
        "Proof . We {V} the {M} and obtain {X} .", "By the {M} lemma , {X} for every {MA} {M} .",
        "Hence {X} and the {M} is {MA} .", "Corollary {N} . The {M} of {X} equals {X} .",
        "Suppose {X} ; then we {V} {X} .", "\\begin{equation} {X} \\end{equation}",
        "Definition . A {M} is {MA} if {X} .", "It follows that {X} , which completes the proof .",
    ),
    "notes": (
        "Lecture {N} : the {M} and the {M} .", "Recall that a {M} is a {MA} {M} .",
        "Example {N} : {V} {X} .", "Homework : {V} the {M} in exercise {N} .",
        "Today we {V} a {MA} {M} step by step .", "Note that {X} when the {M} is {MA} .",
        "Exercise {N} . {V} the {M} of {X} .", "Key idea : {V} the {M} first , then {V} .",
    ),
    "qa": (
        "Question : how do I {V} {E} ?", "asked by {U} , {N} votes .", "Why is {X} a {MA} {M} ?",
        "Answer : write {X} and {V} the {M} .",
        "Answer : you can {V} the {M} , so {E} .", "Comment : thanks , the {M} trick works for {E} .",
        "Is the {M} of {E} always {MA} ?", "Accepted answer by {U} : {V} both sides , then {V} .",
        "I tried to {V} the {M} but got {E} .", "Hint : consider the {M} of {E} .",
    ),
    "word_problem": (  # everyday words and plain arithmetic: little overlap with the seed's vocabulary
        "{P} has {N} {O} and buys {N} more {O} .", "How many {O} does {P} have now ?",
        "Answer : {AR} .", "So altogether there are {N} {O} left .", "First {P} counts {AR} .",
        "Each box holds {N} {O} , so {AR} .", "{P} gives {N} {O} to {P} ; {AR} .",
        "{P} shares {N} {O} equally among {N} friends , so each friend gets {N} .",
        "How many {O} are left after {P} eats {N} ?", "{P} pays {N} dollars for {N} {O} ; {AR} .",
    ),
    "sports": (
        "The {T} beat the {T} {N} - {N} on {D} .", "{P} scored {N} points in the second half .",
        "Standings : {T} {N} wins , {N} losses , {N} points .", "Attendance was {B} at the {C} stadium .",
        "The {T} average {N} goals per game this season .", "Kick-off at {H} , live from {C} .",
    ),
    "recipe": (
        "Add {N} cups of {FO} and {N} tbsp of {FO} .", "Bake at {B} degrees for {N} minutes .",
        "Serves {N} . Prep time {N} minutes .", "Stir the {FO} into the {FO} and season with {FO} .",
        "You will need {N} g {FO} , {N} g {FO} and a pinch of {FO} .", "Chill for {N} hours before serving .",
    ),
    "prices": (
        "{PR} now {PC} dollars , was {PC} .", "Save {N} percent on every {PR} this {D} .",
        "Order total : {PC} plus {PC} shipping .", "{PR} in stock : {N} units at {C} store .",
        "Buy {N} {O} for {PC} , limit {N} per customer .", "Price drop : {PR} down {N} percent .",
    ),
    "timetable": (
        "Train {N} departs {C} at {H} and arrives in {C} at {H} .", "Platform {N} , service every {N} minutes .",
        "Bus {N} : {C} {H} , {C} {H} , {C} {H} .", "On {D} the first departure is at {H} .",
        "Ferry to {C} leaves at {H} , return at {H} .",
    ),
    "news": (
        "The {ORG} said on {D} that the {TOP} plan would go ahead .", "Officials in {C} {GV} the {TOP} report .",
        "A {N} percent rise in {TOP} costs worried the {ORG} .", "Residents of {C} {GV} a {A} {TOP} protest .",
        "The {ORG} will vote on the {TOP} next {D} .",
    ),
    "travel": (
        "We stayed {N} nights in {C} and {GV} the old town .", "The beach near {C} was {A} and quiet .",
        "Our {G} in {C} began with a {A} breakfast .", "From {C} we took the train to {C} .",
        "Do not miss the {A} market in {C} on {D} .",
    ),
    "review": (
        "This {PR} is {RA} and {RA} .", "I gave the {PR} {N} stars after a {G} of use .",
        "The {PR} arrived on {D} , {RA} but a bit {RA} .", "Would I buy this {PR} again ? Maybe .",
        "Pros : {RA} , {RA} . Cons : {RA} .",
    ),
}
MATH_KINDS = ("latex", "qa", "word_problem", "notes")
SEED_KINDS = ("latex", "notes")
OTHER_KINDS = ("sports", "recipe", "prices", "timetable", "news", "travel", "review")
_MIXED_MATH_SECTION = {"latex": "courses", "notes": "courses", "qa": "questions", "word_problem": "questions"}
_OTHER_SECTIONS = ("blog", "news", "shop", "events")
_SLOT_RE = re.compile(r"\{([A-Z]+)\}")  # upper-case only: LaTeX braces pass through


def _fill(template: str, rng: random.Random) -> str:
    return _SLOT_RE.sub(lambda m: _SLOTS[m.group(1)](rng), template)


def _body(kind: str, n_words: int, rng: random.Random) -> str:
    """Sentences of ``kind`` (a quarter generic chatter) until about ``n_words`` words."""
    sentences: list[str] = []
    count = 0
    templates = _TEMPLATES[kind]
    while count < n_words:
        pool = _GENERIC_TEMPLATES if rng.random() < 0.25 else templates
        sentence = _fill(rng.choice(pool), rng)
        sentences.append(sentence)
        count += sentence.count(" ") + 1
    return " ".join(sentences)


def _host(rng: random.Random, used: set[str]) -> str:
    while True:
        name = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        host = f"{name}.{rng.choice(TLDS)}"
        if host not in used:
            used.add(host)
            return host


def _frame(host: str, body: str) -> str:
    """Wrap a body in the host's boilerplate: a nav header and a copyright footer."""
    return f"{host} | Home | About | Contact\n{body}\nCopyright {host} . All rights reserved . Privacy | Terms"


def _page(host: str, path: str, kind: str, text: str) -> dict:
    return {"url": f"https://{host}{path}", "domain": host, "text": text, "is_math": kind in MATH_KINDS,
            "kind": kind, "dup_cluster": None, "benchmark_id": None}


def _domain_pages(host: str, role: str, cfg: WebConfig, rng: random.Random) -> list[dict]:
    """Original pages of one host; ``role`` is "math", "mixed" or "other"."""
    pages = []
    for i in range(cfg.pages_per_domain):
        is_math = role == "math" or (role == "mixed" and rng.random() < 0.5)
        kind = rng.choice(MATH_KINDS if is_math else OTHER_KINDS)
        if role == "mixed":
            section = _MIXED_MATH_SECTION[kind] if is_math else rng.choice(_OTHER_SECTIONS)
        else:
            section = rng.choice(("p", "article", "post"))
        text = _frame(host, _body(kind, cfg.words_per_page, rng))
        pages.append(_page(host, f"/{section}/{kind}-{i}", kind, text))
    return pages


def _mirror_copy(page: dict, mirror_host: str, cluster: int, rng: random.Random) -> dict:
    """Near-duplicate: the mirror's own header/footer, an ad line, and at most one word rewritten."""
    body = page["text"].split("\n", 1)[1].rsplit("\n", 1)[0]  # between header and footer lines
    words = body.split(" ")
    for pos in rng.sample(range(len(words)), min(len(words), rng.randint(0, 1))):
        words[pos] = "[link]"  # a rewritten link; each edit breaks up to k shingles
    cut = rng.randrange(len(words))
    edited = " ".join(words[:cut] + ["Advertisement", "-", "sponsored", "link"] + words[cut:])
    path = f"/{page['domain']}{page['url'].split(page['domain'], 1)[1]}"
    copy = _page(mirror_host, path, page["kind"], _frame(mirror_host, edited))
    copy["dup_cluster"] = cluster
    copy["benchmark_id"] = page["benchmark_id"]  # a mirrored planted page is still contaminated
    return copy


def _url_variant(url: str, rng: random.Random) -> str:
    """A URL that ``dedup.normalize_url`` maps back to ``url``."""
    scheme, rest = url.split("://", 1)
    host, path = rest.split("/", 1)
    choice = rng.randrange(5)
    if choice == 0:
        return f"{scheme}://{host}/{path}/"
    if choice == 1:
        return f"{scheme}://{host.upper()}/{path}"
    if choice == 2:
        return f"{url}?utm_source=x"
    if choice == 3:
        return f"{url}#comments"
    return url


def _planted_pages(hosts: list[str], planted: list[tuple[str, str]], cfg: WebConfig,
                   rng: random.Random) -> list[dict]:
    """Q&A pages quoting a benchmark problem verbatim between ordinary thread text."""
    pages = []
    for j in range(cfg.n_planted):
        bench_id, question = planted[j % len(planted)]
        host = rng.choice(hosts)
        half = max(10, cfg.words_per_page // 2)
        body = f"{_body('qa', half, rng)} Problem : {question} {_body('qa', half, rng)}"
        page = _page(host, f"/questions/planted-{j}", "qa", _frame(host, body))
        page["benchmark_id"] = bench_id
        pages.append(page)
    return pages


def _add_duplicates(originals: list[dict], cfg: WebConfig, rng: random.Random, used: set[str]) -> list[dict]:
    """Originals plus mirror near-duplicates (clustered) and re-crawled URL duplicates."""
    pages = [dict(p) for p in originals]
    n_near = round(cfg.near_dup_fraction * len(originals))
    mirrors = [_host(rng, used) for _ in range(max(1, len(originals) // 200))]
    for cluster, idx in enumerate(sorted(rng.sample(range(len(originals)), n_near))):
        pages[idx]["dup_cluster"] = cluster
        pages.append(_mirror_copy(pages[idx], rng.choice(mirrors), cluster, rng))
    n_url = round(cfg.url_dup_fraction * len(originals))
    for idx in sorted(rng.sample(range(len(originals)), n_url)):
        recrawl = dict(pages[idx])
        recrawl["url"] = _url_variant(recrawl["url"], rng)
        pages.append(recrawl)
    return pages


def _seed_pages(cfg: WebConfig, seed: int) -> list[dict]:
    # Own stream so the pool does not change when only n_seed_pages changes.
    rng = random.Random(f"{seed}:seed-corpus")
    used: set[str] = set()
    hosts = [_host(rng, used) for _ in range(max(1, cfg.n_seed_pages // 50))]
    pages = []
    for i in range(cfg.n_seed_pages):
        host, kind = rng.choice(hosts), rng.choice(SEED_KINDS)
        pages.append(_page(host, f"/seed/{kind}-{i}", kind, _frame(host, _body(kind, cfg.words_per_page, rng))))
    return pages


def generate_web(cfg: WebConfig, seed: int, planted: list[tuple[str, str]]) -> tuple[list[dict], list[dict]]:
    """Return (pool pages in crawl order, seed-corpus pages); same seed gives the same web.

    ``planted`` holds (benchmark_id, question text) pairs; ``cfg.n_planted`` pool pages quote
    them, cycling when there are fewer items than pages.
    """
    if cfg.n_planted > 0 and not planted:
        raise ValueError(f"planted: n_planted is {cfg.n_planted} but no benchmark items were given")
    rng = random.Random(f"{seed}:pool")
    used: set[str] = set()
    n_math = round(cfg.n_domains * cfg.math_domain_fraction)
    n_mixed = round(cfg.n_domains * cfg.mixed_domain_fraction)
    roles = ["math"] * n_math + ["mixed"] * n_mixed + ["other"] * (cfg.n_domains - n_math - n_mixed)
    hosts = [_host(rng, used) for _ in roles]
    # Progress on stderr as in the training loops; the bar draws nothing from the pool's rng.
    domains = tqdm(zip(hosts, roles), total=len(roles), desc="world: domains", unit="domain", mininterval=2)
    originals = [p for host, role in domains for p in _domain_pages(host, role, cfg, rng)]
    if cfg.n_planted:
        math_hosts = [h for h, r in zip(hosts, roles) if r != "other"] or [_host(rng, used)]
        originals += _planted_pages(math_hosts, planted, cfg, rng)
    pool = _add_duplicates(originals, cfg, rng, used)
    rng.shuffle(pool)  # crawl order: a copy may come before its original
    return pool, _seed_pages(cfg, seed)
