"""A labelled synthetic corpus of lead texts with embedded identifiers, and the redaction measurement.

Texts look like web-form questions and chat / SMS messages to a clinic. Identifiers come in many
formats, with typos in the surrounding words, lowercase messages and texts without any identifier.
A quarter of the names are drawn from held-out lists that the redactor's word lists do not contain, so
the measured name recall includes names the redactor has never seen. Nothing here is real patient data.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from careleads.errors import InputError
from careleads.privacy._redact import RedactionResult, RedactionSpan, redact_text

__all__ = ["MEASURED_KINDS", "STRUCTURED_KINDS", "LabelledText", "make_pii_corpus", "measure_redaction"]

#: Kinds the structured-identifier recall goal (>= 0.99) applies to.
STRUCTURED_KINDS: tuple[str, ...] = ("EMAIL", "PHONE", "SSN", "DOB", "MRN")
#: Every kind the corpus labels.
MEASURED_KINDS: tuple[str, ...] = (*STRUCTURED_KINDS, "ADDRESS", "NAME", "DATE")

# Held out from privacy/data/*.txt on purpose (a test checks it): names the redactor has not seen.
HELD_OUT_FIRST_NAMES: tuple[str, ...] = tuple(
    "anouk bartholomew cosima dagny eamon fenella gwendolyn hamish ingrid jolene kenji leopold marisela "
    "nadira oksana perpetua quentin rosalind saoirse tobias ulrike vesna wilhelmina xiomara zuzana "
    "thandiwe oluwaseun siobhan radhika bogdan".split()
)
HELD_OUT_SURNAMES: tuple[str, ...] = tuple(
    "abernathy blackwood castellano dragomir eriksson fairweather galloway haverford ignatowski jablonski "
    "kowalczyk lindqvist macpherson nakashima okonkwo pettersen quartermaine rasmussen szymanski "
    "thistlewood umberger vandermeer whitlock yevtushenko zielinski adebayo mukherjee oyelaran "
    "castaneda villanueva".split()
)

_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "icloud.com", "hotmail.com", "example.org", "mail.co")
_STREETS = (
    "Oak",
    "Elm",
    "Maple",
    "Main",
    "Pine",
    "Cedar",
    "Washington",
    "Lake",
    "Park",
    "Hillcrest",
    "Sunset",
    "Willow",
    "Chestnut",
    "Highland",
    "River",
    "5th",
    "2nd",
    "Birch",
    "Lincoln",
    "Spring Valley",
    "Old Mill",
    "Cherry Blossom",
    "Martin Luther King",
    "Jefferson",
    "Walnut",
    "Meadow",
)
_SUFFIXES = (
    "Street",
    "St",
    "St.",
    "Avenue",
    "Ave",
    "Ave.",
    "Road",
    "Rd",
    "Boulevard",
    "Blvd",
    "Lane",
    "Ln",
    "Drive",
    "Dr",
    "Court",
    "Ct",
    "Way",
    "Place",
    "Terrace",
    "Circle",
    "Parkway",
    "Highway",
)
_CITIES = (
    ("Springfield", "IL", "62704"),
    ("Riverton", "WY", "82501"),
    ("Fairview", "TX", "75069"),
    ("Greenville", "SC", "29601"),
    ("Madison", "WI", "53703"),
    ("Salem", "OR", "97301"),
)
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

_GREETINGS = ("", "", "Hi, ", "Hello, ", "Hi there! ", "Good morning. ", "hey ", "Hello team, ")
_QUESTIONS = (
    "I would like to schedule a new patient appointment for knee pain.",
    "Do you accept Medicare for a cardiology consult?",
    "How much does a dermatology visit cost without insurance?",
    "Can I get a referral to physical therapy after my shoulder surgery?",
    "Is there any opening next week with a sleep specialist? I snore a lot.",
    "My doctor said I need a heart ultrasound, do you take Blue Cross?",
    "I have had back pain for 3 weeks and ibuprofen 400 mg is not helping.",
    "Looking for a counselor for anxiety, preferably a telehealth visit.",
    "Can you tell me if the prenatal package includes labs?",
    "I need a refill of my blood pressure medication, last reading was 140/90.",
    "What are your hours on Saturday? I can only come after 3:30 pm.",
    "My A1C was 7.2 and I want to see someone about diabetes care.",
    "Is parking free at the Oak Ridge location? I use a wheelchair.",
    "I got a bill for $150 but my copay should be $40, who can I talk to?",
    "I want a skin check, I have a mole that changed over 2 months.",
    "Our 2 kids need school physicals before the end of the month.",
    "Can I book a video visit instead of coming in? I live 45 miles away.",
    "I had 2 different ct scans last year and want a second opinion.",
    "Do you have a female OB/GYN accepting new patients?",
    "The symptom checker told me to see a doctor within 24 hours.",
)
_CLOSINGS = (
    "",
    "",
    "Thanks!",
    "Thank you.",
    "Please call me back.",
    "Appreciate it.",
    "thx",
    "Best regards.",
)
_FILLERS = (
    "Please let me know.",
    "I tried calling twice already.",
    "It is kind of urgent.",
    "I am free most mornings.",
    "My insurance is Aetna PPO.",
    "Room 12 at the front desk gave me this form.",
    "Rate the pain about 6 out of 10.",
    "Zip is 60614 if that matters.",
    "I am 2 hours away by bus.",
    # hard negatives: capitalised words after name cues, clinic and drug names, numbers that are not ids
    "This is urgent, the pain is getting worse.",
    "I'm diabetic and take metformin 500 mg.",
    "I'm Hispanic and would prefer a Spanish speaking provider.",
    "It's Tuesday and still no call back.",
    "I take Percocet 5/325 twice a day.",
    "My blood pressure was 150/95 this morning.",
    "We were at St. Mary's Hospital on 5th Avenue last year.",
    "Ask for Rehab intake if I'm not home.",
    "My 3 kids and I moved here 2 years ago.",
    "Grace Medical Group sent me here.",
    "Call between 9 and 5 on weekdays, or after 6:30.",
    "My LDL was 130 and INR 2.5 in March.",
    "Is the Lincoln Park office open on Sunday?",
    "My Aetna plan covers 80 percent.",
    "Dr. visit needed soon, ideally in 2 days.",
    "I got 3 different answers from 2 different offices.",
    "Thanks in advance.",
    "I'm Jewish and need a kosher meal plan after surgery.",
)
_COMMON_TYPO_WORDS = frozenset("the a an i to of and is".split())


@dataclass(frozen=True, slots=True)
class LabelledText:
    """A synthetic text and the true identifier spans in it.

    Attributes
    ----------
    text : str
        The message.
    spans : tuple of RedactionSpan
        Gold spans; ``kind`` is one of :data:`MEASURED_KINDS`.
    """

    text: str
    spans: tuple[RedactionSpan, ...]


_Piece = tuple[str, str | None]


@dataclass(frozen=True, slots=True)
class _Pools:
    first: tuple[str, ...]
    last: tuple[str, ...]


def _pools() -> _Pools:
    data = resources.files("careleads.privacy") / "data"

    def read(name: str) -> tuple[str, ...]:
        lines = (data / name).read_text(encoding="utf-8").splitlines()
        return tuple(sorted(w.strip() for w in lines if w.strip() and not w.startswith("#")))

    return _Pools(first=read("first_names.txt"), last=read("surnames.txt"))


class _Maker:
    def __init__(self, rng: random.Random, pools: _Pools) -> None:
        self.rng = rng
        self.pools = pools

    # ---- identifier values ----------------------------------------------------------------------
    def first_name(self) -> str:
        pool = HELD_OUT_FIRST_NAMES if self.rng.random() < 0.25 else self.pools.first
        return self.rng.choice(pool).capitalize()

    def surname(self) -> str:
        pool = HELD_OUT_SURNAMES if self.rng.random() < 0.25 else self.pools.last
        name = self.rng.choice(pool).capitalize()
        return name

    def full_name(self) -> str:
        r = self.rng.random()
        if r < 0.1:
            return f"{self.first_name()} {self.rng.choice('ABCDEJKLMRS')}. {self.surname()}"
        if r < 0.75:
            return f"{self.first_name()} {self.surname()}"
        return self.first_name()

    def phone(self) -> str:
        d = [str(self.rng.randint(0, 9)) for _ in range(7)]
        area = f"{self.rng.randint(2, 9)}{self.rng.randint(0, 9)}{self.rng.randint(0, 9)}"
        if self.rng.random() < 0.3:
            area = "555"
        a, b = "".join(d[:3]), "".join(d[3:])
        formats = (
            f"({area}) {a}-{b}",
            f"{area}-{a}-{b}",
            f"{area}.{a}.{b}",
            f"+1 {area} {a} {b}",
            f"{area} {a} {b}",
            f"{area}{a}{b}",
            f"1-{area}-{a}-{b}",
            f"+1 ({area}) {a}-{b}",
            f"({area}){a}-{b}",
            f"+1{area}{a}{b}",
            f"{area}-{a}-{b} ext 12",
        )
        return self.rng.choice(formats)

    def email(self, first: str | None = None, last: str | None = None) -> str:
        f = (first or self.first_name()).lower()
        s = (last or self.surname()).lower()
        n = self.rng.randint(1, 99)
        local = self.rng.choice(
            (f"{f}.{s}", f"{f}{s}", f"{f[0]}.{s}{n}", f"{f}.{s}+clinic", f"{f}_{s}", f"{s}{n}", f"{f}-{s}")
        )
        if self.rng.random() < 0.03:
            domain = self.rng.choice(("gmail", "yahoo", "outlook"))
            return f"{local.replace('.', ' dot ')} at {domain} dot com"
        return f"{local}@{self.rng.choice(_DOMAINS)}"

    def ssn(self) -> tuple[str, bool]:
        """Return the SSN and whether it needs a cue (no separators)."""
        a, b, c = self.rng.randint(100, 899), self.rng.randint(10, 99), self.rng.randint(1000, 9999)
        r = self.rng.random()
        if r < 0.45:
            return f"{a}-{b}-{c}", False
        if r < 0.7:
            return f"{a} {b} {c}", False
        return f"{a}{b}{c}", True

    def full_date(self, year: int) -> str:
        m, d = self.rng.randint(1, 12), self.rng.randint(1, 28)
        month = _MONTHS[m - 1]
        formats = (
            f"{m:02d}/{d:02d}/{year}",
            f"{m}/{d}/{year}",
            f"{year}-{m:02d}-{d:02d}",
            f"{month} {d}, {year}",
            f"{month} {d} {year}",
            f"{month[:3]} {d}, {year}",
            f"{d} {month} {year}",
            f"{m}-{d}-{year}",
            f"{m:02d}.{d:02d}.{year}",
            f"{month} {d}th, {year}",
            f"{m}/{d}/{year % 100:02d}",
        )
        return self.rng.choice(formats)

    def mrn(self) -> str:
        n = self.rng.randint(6, 10)
        return "".join(str(self.rng.randint(0, 9)) for _ in range(n))

    def address(self) -> str:
        num = str(self.rng.randint(1, 9999))
        direction = self.rng.choice(("", "", "", "W. ", "N ", "East ", "S. "))
        street = self.rng.choice(_STREETS)
        suffix = self.rng.choice(_SUFFIXES)
        unit = self.rng.choice(
            (
                "",
                "",
                "",
                f" Apt {self.rng.randint(1, 40)}",
                f", Unit {self.rng.randint(1, 9)}B",
                f" #{self.rng.randint(1, 300)}",
                f" Suite {self.rng.randint(100, 400)}",
            )
        )
        city = ""
        if self.rng.random() < 0.3:
            c, st, z = self.rng.choice(_CITIES)
            city = f", {c}, {st} {z}"
        return f"{num} {direction}{street} {suffix}{unit}{city}"

    # ---- sentences with an identifier -----------------------------------------------------------------
    def name_sentence(self) -> list[_Piece]:
        name = self.full_name()
        cue = self.rng.choice(
            (
                "My name is ",
                "my name is ",
                "This is ",
                "I'm ",
                "Name: ",
                "Hi, this is ",
                "Patient name: ",
                "My daughter ",
                "my mom ",
                "I am writing for my husband ",
                "It's ",
            )
        )
        tail = self.rng.choice((". ", ", ", " and ", ". ", " - "))
        if cue in ("My daughter ", "my mom "):
            tail = self.rng.choice((" needs an appointment. ", " has a question. "))
        return [(cue, None), (name, "NAME"), (tail, None)]

    def provider_sentence(self) -> list[_Piece]:
        return [
            (self.rng.choice(("Dr. ", "Dr ", "doctor ")), None),
            (self.surname(), "NAME"),
            (self.rng.choice((" referred me. ", " told me to call. ", "'s office sent me. ")), None),
        ]

    def phone_sentence(self) -> list[_Piece]:
        cue = self.rng.choice(
            (
                "Call me at ",
                "my cell is ",
                "Phone: ",
                "You can reach me on ",
                "text me ",
                "best number ",
                "call back ",
                "",
                "ph ",
            )
        )
        return [
            (cue, None),
            (self.phone(), "PHONE"),
            (self.rng.choice((". ", " ", ", ", " anytime. ")), None),
        ]

    def email_sentence(self) -> list[_Piece]:
        cue = self.rng.choice(("Email: ", "my email is ", "email me at ", "Contact ", "or ", "e-mail "))
        return [(cue, None), (self.email(), "EMAIL"), (self.rng.choice((". ", " ", ", ", " thanks. ")), None)]

    def ssn_sentence(self) -> list[_Piece]:
        value, needs_cue = self.ssn()
        cues = ("SSN ", "SSN: ", "my social security number is ", "social ", "ss# ", "Social Security No. ")
        cue = (
            self.rng.choice(cues) if needs_cue or self.rng.random() < 0.7 else self.rng.choice(("", "it's "))
        )
        if self.rng.random() < 0.04:
            return [
                ("last four of my social are ", None),
                (str(self.rng.randint(1000, 9999)), "SSN"),
                (". ", None),
            ]
        return [(cue, None), (value, "SSN"), (self.rng.choice((". ", " ", ", ")), None)]

    def dob_sentence(self) -> list[_Piece]:
        value = self.full_date(self.rng.randint(1936, 2007))
        cue = self.rng.choice(
            (
                "DOB ",
                "DOB: ",
                "date of birth ",
                "born on ",
                "my birthday is ",
                "d.o.b. ",
                "Birthdate: ",
                "dob ",
                "born ",
                "",
                "patient dob is ",
            )
        )
        return [(cue, None), (value, "DOB"), (self.rng.choice((". ", " ", ", ")), None)]

    def mrn_sentence(self) -> list[_Piece]:
        cue = self.rng.choice(
            (
                "MRN: ",
                "MRN ",
                "mrn#",
                "medical record number ",
                "med rec # ",
                "my chart number is ",
                "Medical Record No. ",
                "patient ID ",
                "MRN is ",
                "medcial record number ",
                "record # ",
            )
        )
        value = self.mrn()
        if self.rng.random() < 0.1:
            value = "00" + value[:7]
        return [(cue, None), (value, "MRN"), (self.rng.choice((". ", " ", ", ")), None)]

    def address_sentence(self) -> list[_Piece]:
        cue = self.rng.choice(
            (
                "I live at ",
                "Address: ",
                "my address is ",
                "mail it to ",
                "we moved to ",
                "I'm at ",
                "home address ",
            )
        )
        return [(cue, None), (self.address(), "ADDRESS"), (self.rng.choice((". ", " ", ", ")), None)]

    def date_sentence(self) -> list[_Piece]:
        value = self.full_date(self.rng.randint(2022, 2026))
        cue = self.rng.choice(
            (
                "My appointment on ",
                "I was seen on ",
                "Can I come in on ",
                "Last visit was ",
                "referral dated ",
            )
        )
        return [(cue, None), (value, "DATE"), (self.rng.choice((". ", "? ", " ")), None)]

    def signature(self) -> list[_Piece]:
        sep = self.rng.choice(("\nThanks,\n", " Thanks, ", "\n- ", " Regards, ", "\n-- ", " Sincerely, "))
        return [(sep, None), (self.full_name(), "NAME")]

    # ---- whole texts ----------------------------------------------------------------------------------
    def pieces(self) -> list[_Piece]:
        rng = self.rng
        out: list[_Piece] = [(rng.choice(_GREETINGS), None)]
        makers: list[Callable[[], list[_Piece]]] = [
            self.name_sentence,
            self.phone_sentence,
            self.email_sentence,
            self.ssn_sentence,
            self.dob_sentence,
            self.mrn_sentence,
            self.address_sentence,
            self.date_sentence,
            self.provider_sentence,
        ]
        weights = (3.0, 3.0, 2.5, 1.0, 2.0, 1.5, 1.5, 1.0, 0.7)
        n_items = rng.choices((0, 1, 2, 3, 4), weights=(2, 3, 3, 2, 1))[0]
        chosen = rng.choices(makers, weights=weights, k=n_items)
        sentences = [[(rng.choice(_QUESTIONS) + " ", None)]] + [make() for make in chosen]
        for _ in range(rng.choices((0, 1, 2), weights=(4, 4, 2))[0]):
            sentences.append([(rng.choice(_FILLERS) + " ", None)])
        rng.shuffle(sentences)
        for sentence in sentences:
            out.extend(sentence)
        if rng.random() < 0.2:
            out.extend(self.signature())
        else:
            out.append((rng.choice(_CLOSINGS), None))
        return out

    def typo(self, text: str) -> str:
        words = text.split(" ")
        candidates = [i for i, w in enumerate(words) if len(w) > 3 and w.isalpha()]
        if not candidates:
            return text
        i = self.rng.choice(candidates)
        w = words[i]
        k = self.rng.randint(1, len(w) - 2)
        op = self.rng.randint(0, 2)
        if op == 0:
            w = w[:k] + w[k + 1] + w[k] + w[k + 2 :]
        elif op == 1:
            w = w[:k] + w[k + 1 :]
        else:
            w = w[:k] + w[k] + w[k:]
        words[i] = w
        return " ".join(words)

    def text(self) -> LabelledText:
        pieces = self.pieces()
        if self.rng.random() < 0.35:
            for _ in range(self.rng.randint(1, 3)):
                filler = [i for i, (s, kind) in enumerate(pieces) if kind is None and len(s) > 8]
                if filler:
                    i = self.rng.choice(filler)
                    pieces[i] = (self.typo(pieces[i][0]), None)
        lower = self.rng.random() < 0.15
        parts: list[str] = []
        spans: list[RedactionSpan] = []
        pos = 0
        for s, kind in pieces:
            if lower:
                s = s.lower()
            if kind is not None:
                spans.append(RedactionSpan(pos, pos + len(s), kind))
            parts.append(s)
            pos += len(s)
        return LabelledText("".join(parts), tuple(spans))


def make_pii_corpus(n: int, seed: int) -> list[LabelledText]:
    """Generate ``n`` labelled synthetic lead texts.

    Parameters
    ----------
    n : int
        Number of texts (>= 1).
    seed : int
        Random seed; the same seed gives the same corpus.

    Returns
    -------
    list of LabelledText

    Examples
    --------
    >>> corpus = make_pii_corpus(3, seed=1)
    >>> all(t.text[s.start : s.end] for t in corpus for s in t.spans)
    True
    """
    if n < 1:
        raise InputError(f"make_pii_corpus: n must be at least 1, got {n}")
    maker = _Maker(random.Random(seed), _pools())
    return [maker.text() for _ in range(n)]


def measure_redaction(
    corpus: Sequence[LabelledText],
    redact: Callable[[str], RedactionResult] = redact_text,
) -> dict[str, Any]:
    """Recall and precision of a redactor per identifier kind on a labelled corpus.

    A gold span is *caught* when every letter and digit in it lies inside a redacted span (of any kind:
    the identifier is gone). A redacted span of kind K is *correct* when it overlaps a gold span of kind
    K; for the catch-all kind ID it is correct when it overlaps any gold span.

    Parameters
    ----------
    corpus : sequence of LabelledText
        For example ``make_pii_corpus(2000, seed=7)``.
    redact : callable, default :func:`redact_text`
        The redactor to measure.

    Returns
    -------
    dict
        ``{"n_texts": int, "kinds": {kind: {"n_gold", "n_caught", "recall", "n_predicted", "n_correct",
        "precision"}}, "n_false_positive_spans": int}``; recall or precision is None when its count is 0.
    """
    n_gold: dict[str, int] = {}
    n_caught: dict[str, int] = {}
    n_pred: dict[str, int] = {}
    n_correct: dict[str, int] = {}
    n_false_positive = 0
    for item in corpus:
        predicted = redact(item.text).spans
        covered = bytearray(len(item.text))
        for p in predicted:
            covered[p.start : p.end] = b"\x01" * (p.end - p.start)
        for g in item.spans:
            n_gold[g.kind] = n_gold.get(g.kind, 0) + 1
            if all(covered[i] for i in range(g.start, g.end) if item.text[i].isalnum()):
                n_caught[g.kind] = n_caught.get(g.kind, 0) + 1
        for p in predicted:
            n_pred[p.kind] = n_pred.get(p.kind, 0) + 1
            overlapping = [g for g in item.spans if g.start < p.end and p.start < g.end]
            if not overlapping:
                n_false_positive += 1
            if any(g.kind == p.kind or p.kind == "ID" for g in overlapping):
                n_correct[p.kind] = n_correct.get(p.kind, 0) + 1
    kinds: dict[str, dict[str, Any]] = {}
    for kind in [*MEASURED_KINDS, *sorted(set(n_pred) - set(MEASURED_KINDS))]:
        gold, caught = n_gold.get(kind, 0), n_caught.get(kind, 0)
        pred, correct = n_pred.get(kind, 0), n_correct.get(kind, 0)
        kinds[kind] = {
            "n_gold": gold,
            "n_caught": caught,
            "recall": caught / gold if gold else None,
            "n_predicted": pred,
            "n_correct": correct,
            "precision": correct / pred if pred else None,
        }
    return {"n_texts": len(corpus), "kinds": kinds, "n_false_positive_spans": n_false_positive}
