"""Free-text redaction: identifiers in questions, chat messages and notes become typed placeholders.

The detector is a set of compiled regular expressions for the structured identifiers (email, phone, SSN,
dates of birth, medical record numbers, long digit runs, street addresses) plus word lists shipped in
``privacy/data/`` for person names (first names, surnames, common English words that stop a name).
Presidio's regex-only configuration was tried first and rejected: see docs/PRIVACY.md ("Redaction").

Overlapping detections are merged into one span (the union), typed by the most specific detector, so
that a partial match never leaves half an identifier in the text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources

from careleads.errors import InputError
from careleads.memo import BlockMemo

__all__ = [
    "PLACEHOLDERS",
    "RedactionResult",
    "RedactionSpan",
    "redact_text",
    "redact_texts",
    "remembered_redactions",
]

#: Placeholder per identifier kind; DATE is a full date that does not look like a birth date, ID a long
#: digit run that no other detector claimed (member, account or record numbers without a cue).
PLACEHOLDERS: dict[str, str] = {
    "EMAIL": "[EMAIL]",
    "PHONE": "[PHONE]",
    "SSN": "[SSN]",
    "DOB": "[DOB]",
    "DATE": "[DATE]",
    "MRN": "[MRN]",
    "ID": "[ID]",
    "ADDRESS": "[ADDRESS]",
    "NAME": "[NAME]",
}

# Higher wins when detections overlap: a cue-confirmed MRN or SSN beats a phone-shaped digit run, an
# email beats the name inside it, anything beats the generic digit run.
_PRIORITY: dict[str, int] = {
    "EMAIL": 90,
    "MRN": 85,
    "SSN": 80,
    "PHONE": 70,
    "DOB": 65,
    "DATE": 60,
    "ADDRESS": 55,
    "NAME": 40,
    "ID": 10,
}

# A full date whose year is this many years back or more is taken as a birth date even without a cue.
_DOB_MIN_AGE_YEARS = 12
_DOB_CUE_WINDOW_BEFORE = 45
_DOB_CUE_WINDOW_AFTER = 25

_I = re.IGNORECASE

_EMAIL_RE = re.compile(
    r"(?<![\w.+-])[a-z0-9](?:[a-z0-9._%+-]*[a-z0-9_])?\s?@\s?[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
    r"(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b",
    _I,
)
_AT = r"(?:\s*\[at\]\s*|\s*\(at\)\s*|\s+at\s+)"
_DOT = r"(?:\s*\[dot\]\s*|\s*\(dot\)\s*|\s+dot\s+|\.)"
_EMAIL_SPOKEN_RE = re.compile(
    rf"\b[a-z0-9][a-z0-9._+-]*(?:{_DOT}[a-z0-9_+-]+){{0,3}}{_AT}[a-z0-9-]+(?:{_DOT}[a-z0-9-]+)*{_DOT}(?:com|org|net|edu|gov|us|io|co)\b",
    _I,
)
_PHONE_RE = re.compile(
    r"(?<![\w+])(?:\+?\s?1[\s.-]{0,2})?(?:\(\s*\d{3}\s*\)|\d{3})[\s.-]{0,2}\d{3}[\s.-]{0,2}\d{4}"
    r"(?:\s*(?:x|ext\.?|extension)\s*\d{1,5})?(?![\d])",
    _I,
)
_PHONE_INTL_RE = re.compile(r"(?<![\w+])\+\d{1,3}(?:[\s.-]?\(?\d{1,4}\)?){2,5}(?!\d)")
_SSN_RE = re.compile(r"(?<![\d.-])\d{3}[\s.-]{1,2}\d{2}[\s.-]{1,2}\d{4}(?![\d-])")
_SSN_CUE = (
    r"(?:\bssn|\bss\s?#|\bs\.s\.n\.?|\bsocial(?:\s+security)?(?:\s+(?:number|numbr|num|no\.?|#))?"
    r"|\bsoc\.?\s*sec\.?(?:\s*(?:number|no\.?|#))?)"
)
_SSN_CUED_RE = re.compile(
    _SSN_CUE + r"[\s:#=-]*(?:is\s+|was\s+)?[\s:#-]*(\d{9}|\d{3}[\s.-]{0,2}\d{2}[\s.-]{0,2}\d{4})(?!\d)", _I
)
_SSN_LAST4_RE = re.compile(
    r"\bl[a-z]{1,4}\s+(?:4|f[a-z]{2,5})(?:\s+digits)?\s+(?:of\s+)?(?:my\s+)?(?:ssn|social(?:\s+security)?)"
    r"(?:\s+(?:number|no\.?|#))?\s*(?:is|are|:|-)?\s*(\d{4})(?!\d)",
    _I,
)
_MRN_CUE = (
    r"(?:\bmrn|\bm\.r\.n\.?|\bmr\s?#|\bmed[a-z]{0,5}\.?\s*re[a-z]{1,5}\.?"
    r"(?:\s*(?:number|numbr|nmber|num|nbr|no\.?|#|id))?"
    r"|\bre[a-z]{2,5}\s*(?:number|numbr|no\.?|#)|\bchart\s*(?:number|no\.?|#|id)"
    r"|\bpa[a-z]{3,6}\s*(?:id|number|no\.?|#))"
)
_MRN_CUED_RE = re.compile(
    _MRN_CUE + r"[\s:#=-]*(?:is\s+|was\s+)?[\s:#-]*([a-z]{0,3}-?\d{5,12})(?!\d)",
    _I,
)
_LONG_DIGITS_RE = re.compile(r"(?<![\w.-])\d{6,}(?![\w-])")

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary|uary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DATE_MDY_TEXT_RE = re.compile(
    rf"\b{_MONTH}\s*(\d{{1,2}})(?:st|nd|rd|th)?\s*,?\s*(\d{{4}}|'\d{{2}})\b",
    _I,
)
_DATE_DMY_TEXT_RE = re.compile(
    rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s*(?:of\s+)?{_MONTH}\s*,?\s*(\d{{4}})\b",
    _I,
)
_DATE_NUM_RE = re.compile(r"(?<![\d/.-])(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})(?![\d/-]|\.\d)")
_DATE_ISO_RE = re.compile(r"(?<![\d/.-])(\d{4})([/.-])(\d{1,2})\2(\d{1,2})(?![\d/-]|\.\d)")
# Between a birth cue and its date: no digit (another date or number) and no sentence end.
_CLAUSE_BREAK_RE = re.compile(r"\d|[.?!;]\s+[A-Za-z]|\n")
_NEXT_DIGITS_RE = re.compile(r"[^\d.?!\n]{0,20}\d")
_DOB_CUE_RE = re.compile(
    r"\b(?:dob|d\.o\.b|d-o-b|born|birth|brith|birthday|bday|b-day|birthdate|bdate)", re.IGNORECASE
)

_ADDRESS_RE_TEMPLATE = (
    r"\b\d{{1,6}}[a-z]?(?:-\d{{1,4}})?\s+"
    r"((?:n|s|e|w|ne|nw|se|sw|north|south|east|west)\.?\s+)?"
    r"((?:[a-z][a-z'-]*|\d{{1,3}}(?:st|nd|rd|th))(?:\s+[a-z][a-z'-]*){{0,2}}?)\s+"
    r"({suffixes})\b\.?"
    r"(\s*,?\s*(?:apt|apartment|unit|suite|ste|room|rm|fl|floor|bldg|#)\.?\s*#?\s*[a-z0-9-]{{1,6}}\b)?"
    r"(?:\s*,\s*[a-z][a-z .'-]{{1,30}}?,?\s+[a-z]{{2}}\.?\s+\d{{5}}(?:-\d{{4}})?\b)?"
)
_PO_BOX_RE = re.compile(r"\bp\.?\s?o\.?\s*box\s+\d{1,8}\b", _I)
# Short suffixes that are also ordinary words or medical abbreviations ("ct scan", "dr", "way"): with
# them, a lowercase street name needs a direction or a unit, or punctuation or the end of the text after.
_AMBIGUOUS_SUFFIXES = frozenset("dr ct st way run row path loop pl ter cir sq trl aly".split())
_LOWER_WORD_NEXT_RE = re.compile(r"\s+[a-z]")
_SENTENCE_END_RE = re.compile(r"\s*$|\s+[A-Z]|\s*\n")
# Words that never occur in a street name: they turn "2 different dr" or "3 head ct scans" into prose.
_NOT_STREET_WORDS = frozenset(
    "a an and or to with for of in on at my your his her their our i we you he she they it is are was "
    "have had has times time days day weeks week months month years year hours hour minutes mg ml kids "
    "children different other more many few some new head scans scan doctors doctor visits".split()
)

_ASCII_DIGIT_RE = re.compile(r"[0-9]")
_TOKEN_RE = re.compile(r"[A-Za-z][A-Za-z'’]*(?:-[A-Za-z]+)*")
# Cues after which the next words are a name whatever they look like (unless they are common words);
# "my name is" is matched with the usual typos (nmae, naem, nae).
_STRONG_NAME_CUE_RE = re.compile(
    r"\b(?:my\s+[nmae]{3,5}\s+(?:is|iss|si)|my\s+name'?s|(?:full\s+|first\s+|last\s+)?name\s*:|"
    r"p[a-z]{4,7}\s+name\s*(?:is|:)?|patient\s*:|i\s+am\s+called)(?![a-z])[\s.:,-]*",
    re.IGNORECASE,
)
# Titles: the next word is a name when capitalised or listed (lowercase "dr woods" too).
_TITLE_CUE_RE = re.compile(r"\b(?:dr|doctor|mr|mrs|ms|miss|mx)(?![a-z])[\s.]*", re.IGNORECASE)
# Cues after which a capitalised or listed word is a name.
# Self-introductions ("I'm ...", "this is ...") are as often followed by an adjective ("I'm Hispanic"):
# the next word is a name when listed, or when two capitalised words follow.
_SELF_NAME_CUE_RE = re.compile(r"\b(?:this\s+is|it'?s|it\s+is|i\s+am|i'?m|im)\b[\s.:,-]*", re.IGNORECASE)
_SAINT_BEFORE_RE = re.compile(r"\b(?:st|saint|san|santa|sta)\.?\s+$", re.IGNORECASE)
_WEAK_NAME_CUE_RE = re.compile(
    r"\b(?:call\s+me|ask\s+for|speak\s+(?:to|with)|signed|"
    r"my\s+(?:wife|husband|son|daughter|mother|mom|mum|father|dad|sister|brother|grandmother|grandma|"
    r"grandfather|grandpa|aunt|uncle|partner|child|kid|baby|friend|spouse|fiance|fiancee)(?:\s*,|\s+is)?)"
    r"\b[\s.:,-]*",
    re.IGNORECASE,
)
# Sign-offs: when only a few words follow them up to the end of the text, those words are a signature.
_SIGNOFF_RE = re.compile(
    r"(?:\b(?:thanks|thank\s+you|thx|ty|regards|best|sincerely|cheers|respectfully|warmly|love)\b[ \t\n,:-]*"
    r"|(?:^|\n)\s*[-–—]+\s*)",
    re.IGNORECASE,
)
_SIGNATURE_TAIL_RE = re.compile(r"[A-Za-z][A-Za-z'’-]*(?:\.?[ \t]+[A-Za-z][A-Za-z'’-]*){0,3}\.?[ \t.!]*\s*")


@dataclass(frozen=True, slots=True)
class RedactionSpan:
    """One detected identifier, in the coordinates of the original text.

    Attributes
    ----------
    start, end : int
        Character offsets, ``text[start:end]`` is the identifier.
    kind : str
        One of the keys of :data:`PLACEHOLDERS`.
    """

    start: int
    end: int
    kind: str


@dataclass(frozen=True, slots=True)
class RedactionResult:
    """A redacted text and the spans that were replaced.

    Attributes
    ----------
    text : str
        The text with each span replaced by its placeholder.
    spans : tuple of RedactionSpan
        Sorted, non-overlapping spans in the coordinates of the original text.
    """

    text: str
    spans: tuple[RedactionSpan, ...]

    def counts(self) -> dict[str, int]:
        """Number of spans per kind (kinds with no span are left out)."""
        out: dict[str, int] = {}
        for span in self.spans:
            out[span.kind] = out.get(span.kind, 0) + 1
        return out


@dataclass(frozen=True, slots=True)
class _WordLists:
    first_names: frozenset[str]
    surnames: frozenset[str]
    name_stopwords: frozenset[str]
    common_words: frozenset[str]
    # every common word with one letter deleted: a token one typo away from a common word shares an
    # entry with it (symmetric-delete spelling match), so "witihn" or "Reehab" is not taken for a name
    common_deletes: frozenset[str]
    street_suffixes: tuple[str, ...]


def _read_word_list(name: str) -> frozenset[str]:
    resource = resources.files("careleads.privacy") / "data" / name
    try:
        text = resource.read_text(encoding="utf-8")
    except FileNotFoundError as exc:  # a broken install, not a user error; still say what to do
        raise InputError(
            f"word list {name!r} is missing from careleads/privacy/data; reinstall careleads "
            "(the package data was not installed)"
        ) from exc
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def _deletions(word: str) -> set[str]:
    return {word[:k] + word[k + 1 :] for k in range(len(word))}


@lru_cache(maxsize=1)
def _word_lists() -> _WordLists:
    suffixes = _read_word_list("street_suffixes.txt")
    common = _read_word_list("common_words.txt")
    return _WordLists(
        first_names=_read_word_list("first_names.txt"),
        surnames=_read_word_list("surnames.txt"),
        name_stopwords=_read_word_list("name_stopwords.txt"),
        common_words=common,
        common_deletes=frozenset(d for w in common if len(w) >= 4 for d in _deletions(w)),
        # longest first so that "street" is preferred over "st" by the alternation
        street_suffixes=tuple(sorted(suffixes, key=lambda s: (-len(s), s))),
    )


@lru_cache(maxsize=1)
def _address_re() -> re.Pattern[str]:
    suffixes = "|".join(re.escape(s) for s in _word_lists().street_suffixes)
    return re.compile(_ADDRESS_RE_TEMPLATE.format(suffixes=suffixes), _I)


def _valid_day_month(a: int, b: int) -> bool:
    """True when (a, b) reads as month/day or day/month."""
    return (1 <= a <= 12 and 1 <= b <= 31) or (1 <= b <= 12 and 1 <= a <= 31)


def _full_year(raw: str) -> int:
    digits = raw.lstrip("'")
    year = int(digits)
    if len(digits) == 2:
        # two-digit years: 00..(this year) are 20xx, the rest 19xx
        year += 2000 if year <= date.today().year % 100 else 1900
    return year


def _iter_dates(text: str) -> Iterator[tuple[int, int, int]]:
    """Yield (start, end, year) for every full date (day, month and year)."""
    max_year = date.today().year + 5
    for m in _DATE_MDY_TEXT_RE.finditer(text):
        day, year = int(m.group(1)), _full_year(m.group(2))
        if 1 <= day <= 31 and 1900 <= year <= max_year:
            yield m.start(), m.end(), year
    for m in _DATE_DMY_TEXT_RE.finditer(text):
        day, year = int(m.group(1)), int(m.group(2))
        if 1 <= day <= 31 and 1900 <= year <= max_year:
            yield m.start(), m.end(), year
    for m in _DATE_NUM_RE.finditer(text):
        a, b, year = int(m.group(1)), int(m.group(3)), _full_year(m.group(4))
        if _valid_day_month(a, b) and 1900 <= year <= max_year:
            yield m.start(), m.end(), year
    for m in _DATE_ISO_RE.finditer(text):
        year, a, b = int(m.group(1)), int(m.group(3)), int(m.group(4))
        if 1 <= a <= 12 and 1 <= b <= 31 and 1900 <= year <= max_year:
            yield m.start(), m.end(), year


def _is_birth_date(text: str, start: int, end: int, year: int) -> bool:
    """A birth cue in the same clause with nothing numeric in between, or an old enough year."""
    this_year = date.today().year
    if year > this_year:
        return False
    before = text[max(0, start - _DOB_CUE_WINDOW_BEFORE) : start]
    cues = list(_DOB_CUE_RE.finditer(before))
    if cues and not _CLAUSE_BREAK_RE.search(before, cues[-1].end()):
        return True
    after = text[end : end + _DOB_CUE_WINDOW_AFTER]
    cue = _DOB_CUE_RE.search(after)
    # "03/04/1985 is my DOB", but not "May 22 2022 DOB: 10.03.1947" where the cue starts the next date
    if (
        cue
        and not _CLAUSE_BREAK_RE.search(after, 0, cue.start() + 1)
        and not _NEXT_DIGITS_RE.match(after, cue.end())
    ):
        return True
    return year <= this_year - _DOB_MIN_AGE_YEARS


def _structured_candidates(text: str) -> list[tuple[int, int, str]]:
    found: list[tuple[int, int, str]] = []
    add = found.append
    if "@" in text:
        for m in _EMAIL_RE.finditer(text):
            add((m.start(), m.end(), "EMAIL"))
    for m in _EMAIL_SPOKEN_RE.finditer(text):
        add((m.start(), m.end(), "EMAIL"))
    if not (_ASCII_DIGIT_RE.search(text) if text.isascii() else any(map(str.isdigit, text))):
        return found
    for m in _PHONE_RE.finditer(text):
        add((m.start(), m.end(), "PHONE"))
    if "+" in text:
        for m in _PHONE_INTL_RE.finditer(text):
            n_digits = sum(c.isdigit() for c in m.group(0))
            if 8 <= n_digits <= 15:
                add((m.start(), m.end(), "PHONE"))
    for m in _SSN_RE.finditer(text):
        add((m.start(), m.end(), "SSN"))
    for regex in (_SSN_CUED_RE, _SSN_LAST4_RE):
        for m in regex.finditer(text):
            add((m.start(1), m.end(1), "SSN"))
    for m in _MRN_CUED_RE.finditer(text):
        add((m.start(1), m.end(1), "MRN"))
    for m in _LONG_DIGITS_RE.finditer(text):
        add((m.start(), m.end(), "ID"))
    for start, end, year in _iter_dates(text):
        add((start, end, "DOB" if _is_birth_date(text, start, end, year) else "DATE"))
    for m in _address_re().finditer(text):
        direction, street, suffix, unit = m.group(1, 2, 3, 4)
        words = street.split()
        if any(w.lower() in _NOT_STREET_WORDS for w in words):
            continue
        if (
            suffix.lower() in _AMBIGUOUS_SUFFIXES
            and not (direction or unit)
            and not any(w[0].isupper() or w[0].isdigit() for w in words)
            and _LOWER_WORD_NEXT_RE.match(text, m.end(3))
        ):
            continue
        end = m.end()
        # a period right after the suffix ends the sentence unless it abbreviates ("St." before a unit)
        if (
            text[end - 1] == "."
            and m.end(3) == end - 1
            and (len(suffix) > 4 or _SENTENCE_END_RE.match(text, end))
        ):
            end -= 1
        add((m.start(), end, "ADDRESS"))
    for m in _PO_BOX_RE.finditer(text):
        add((m.start(), m.end(), "ADDRESS"))
    return found


def _name_candidates(text: str) -> list[tuple[int, int, str]]:
    lists = _word_lists()
    first, last = lists.first_names, lists.surnames
    common, stop = lists.common_words, lists.name_stopwords
    tokens = [(m.start(), m.end(), m.group(0)) for m in _TOKEN_RE.finditer(text)]
    if not tokens:
        return []
    index_at = {start: i for i, (start, _, _) in enumerate(tokens)}
    n_tokens = len(tokens)

    def bare(word: str) -> str:
        low = word.lower()
        return low[:-2] if low.endswith(("'s", "’s")) else low

    def is_cap(word: str) -> bool:
        return word[0].isupper()

    def known(low: str) -> bool:
        return low in first or low in last

    def typo_of_common(low: str) -> bool:
        if len(low) < 4 or known(low):
            return False
        if low in lists.common_deletes:
            return True
        return any(d in common or d in lists.common_deletes for d in _deletions(low))

    def first_ok(i: int, mode: str) -> bool:
        """Whether token i, right after a cue, starts a name."""
        word = tokens[i][2]
        low = bare(word)
        if len(low) < 2 or _SAINT_BEFORE_RE.search(text, max(0, tokens[i][0] - 8), tokens[i][0]):
            return False
        if typo_of_common(low):
            return False
        if mode == "self":
            if low in common:
                return False
            if known(low) and low not in stop:
                return True
            return is_cap(word) and (
                ends_clause(i)
                or i + 1 < n_tokens
                and text[tokens[i][1] : tokens[i + 1][0]] == " "
                and is_cap(tokens[i + 1][2])
                and bare(tokens[i + 1][2]) not in common
            )
        if low in common:
            return mode in ("strong", "title") and known(low) and (is_cap(word) or low in stop)
        if low in stop:
            return is_cap(word) or mode in ("strong", "title")
        return mode in ("strong", "title") or known(low) or is_cap(word)

    def ends_clause(i: int) -> bool:
        gap = text[tokens[i][1] : tokens[i + 1][0]] if i + 1 < n_tokens else text[tokens[i][1] :]
        return not gap.strip() and i + 1 >= n_tokens or gap[:1] in ",.;:!?\n-)"

    def continues(i: int, mode: str) -> int:
        """How many tokens from i on extend the name ending at token i - 1 (0, 1 or 2 with an initial)."""
        if i >= n_tokens or text[tokens[i - 1][1] : tokens[i][0]] not in (" ", "-", " - "):
            return 0
        word = tokens[i][2]
        if len(word) == 1:
            # a middle initial ("Maria S. Lopez") counts only when a name word follows it
            after = text[tokens[i][1] : tokens[i + 1][0]] if i + 1 < n_tokens else ""
            if after in (". ", " ") and i + 1 < n_tokens and _word_continues(tokens[i + 1][2], mode, i + 1):
                return 2
            return 0
        return 1 if _word_continues(word, mode, i) else 0

    def _word_continues(word: str, mode: str, i: int) -> bool:
        low = bare(word)
        if len(low) < 2:
            return False
        if low in common or low in stop:
            return low in last and (mode != "none" or is_cap(word))
        if typo_of_common(low):
            return False
        if known(low) or is_cap(word) or mode == "strong":
            return True
        return mode in ("weak", "self") and ends_clause(i)

    spans: list[tuple[int, int, str]] = []

    def take(i: int, mode: str) -> None:
        j = i + 1
        while j < i + 4:
            step = continues(j, mode)
            if not step:
                break
            j += step
        spans.append((tokens[i][0], tokens[j - 1][1], "NAME"))

    cues = (
        (_STRONG_NAME_CUE_RE, "strong"),
        (_TITLE_CUE_RE, "title"),
        (_SELF_NAME_CUE_RE, "self"),
        (_WEAK_NAME_CUE_RE, "weak"),
    )
    for cue_re, mode in cues:
        for m in cue_re.finditer(text):
            i = index_at.get(m.end())
            if i is not None and first_ok(i, mode):
                take(i, mode)
    for m in _SIGNOFF_RE.finditer(text):
        i = index_at.get(m.end())
        if i is not None and _SIGNATURE_TAIL_RE.fullmatch(text, m.end()) and first_ok(i, "strong"):
            take(i, "strong")
    # no cue: a known first name written with a capital, or a known first + surname pair in any case
    for i, (_, _, word) in enumerate(tokens):
        low = bare(word)
        if low not in first or low in common:
            continue
        if is_cap(word) and low not in stop:
            if not _SAINT_BEFORE_RE.search(text, max(0, tokens[i][0] - 8), tokens[i][0]):
                take(i, "none")
        elif i + 1 < n_tokens and text[tokens[i][1] : tokens[i + 1][0]] == " ":
            nxt = bare(tokens[i + 1][2])
            if nxt in last and nxt not in common and nxt not in stop and low not in stop:
                take(i, "none")
    return spans


def _merge(candidates: list[tuple[int, int, str]]) -> tuple[RedactionSpan, ...]:
    """Union overlapping candidates; each merged span takes the kind of its highest-priority member."""
    if not candidates:
        return ()
    candidates.sort()
    merged: list[RedactionSpan] = []
    cur_start, cur_end, cur_kind = candidates[0]
    for start, end, kind in candidates[1:]:
        if start < cur_end:
            if _PRIORITY[kind] > _PRIORITY[cur_kind]:
                cur_kind = kind
            cur_end = max(cur_end, end)
        else:
            merged.append(RedactionSpan(cur_start, cur_end, cur_kind))
            cur_start, cur_end, cur_kind = start, end, kind
    merged.append(RedactionSpan(cur_start, cur_end, cur_kind))
    return tuple(merged)


def redact_text(text: str) -> RedactionResult:
    """Replace identifiers in a free text by typed placeholders.

    Parameters
    ----------
    text : str
        A question, chat or SMS message, or call note.

    Returns
    -------
    RedactionResult
        ``.text`` is the redacted text, ``.spans`` the replaced spans in the original coordinates.

    Raises
    ------
    InputError
        If ``text`` is not a string.

    Examples
    --------
    >>> redact_text("This is Maria Lopez, call (555) 123-4567, DOB 03/04/1985").text
    'This is [NAME], call [PHONE], DOB [DOB]'
    """
    if not isinstance(text, str):
        raise InputError(f"redact_text expects a string, got {type(text).__name__}; pass None-free text")
    spans = _merge(_structured_candidates(text) + _name_candidates(text))
    if not spans:
        return RedactionResult(text, ())
    parts: list[str] = []
    pos = 0
    for span in spans:
        parts.append(text[pos : span.start])
        parts.append(PLACEHOLDERS[span.kind])
        pos = span.end
    parts.append(text[pos:])
    return RedactionResult("".join(parts), spans)


def redact_texts(texts: Iterable[str | None]) -> list[str | None]:
    """Redact many texts; missing values (None or a float NaN, as pandas gives) come back as None.

    Repeated texts are redacted once.

    Parameters
    ----------
    texts : iterable of str or None
        For example a pandas Series of questions.

    Returns
    -------
    list of str or None
        Redacted texts in input order.

    Raises
    ------
    InputError
        If an item is neither a string nor missing; the message gives its position.

    Examples
    --------
    >>> redact_texts(["mail me at a.b+x@example.org", None])
    ['mail me at [EMAIL]', None]
    """
    remembered: dict[str, str] | None = _REMEMBERED.of()
    cache = remembered if remembered is not None else {}
    out: list[str | None] = []
    for position, item in enumerate(texts):
        if item is None or (isinstance(item, float) and math.isnan(item)):
            out.append(None)
            continue
        if not isinstance(item, str):
            raise InputError(
                f"redact_texts: item {position} is a {type(item).__name__}, expected a string or None; "
                "convert the column to text first"
            )
        redacted = cache.get(item)
        if redacted is None:
            redacted = redact_text(item).text
            cache[item] = redacted
        out.append(redacted)
    return out


#: the redactions remembered in the current :func:`remembered_redactions` block
_REMEMBERED = BlockMemo("careleads_redactions")


def remembered_redactions() -> AbstractContextManager[None]:
    """Within the block, :func:`redact_texts` redacts each distinct text once: a text met again (scoring
    and then deciding the same lead both read its message) is looked up. Nothing is kept after the block,
    so texts live no longer than the work that holds them. Blocks nest (the outermost one remembers).

    Examples
    --------
    >>> with remembered_redactions():
    ...     first = redact_texts(["call me on 555 123 4567"])
    ...     again = redact_texts(["call me on 555 123 4567"])
    >>> first == again == ["call me on [PHONE]"]
    True
    """
    return _REMEMBERED.block()
