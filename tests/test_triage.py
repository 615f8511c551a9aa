from __future__ import annotations

import functools
import re

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import OSA

from careleads.synth import generate
from careleads.text import ClinicalTriageDetector, TriageResult, detect_urgent_symptoms
from careleads.text.triage import (
    CONTRACTION_PHRASES,
    FUZZY_VOCABULARY,
    REAL_WORDS,
    TriageFilter,
    correct,
    corrections,
    lexicon_matches,
    normalise,
    normalised_texts,
    required_atoms,
)
from careleads.text.triage._filter import distinct_rows
from careleads.text.triage._normalise import CONTRACTIONS, TOKEN, fold_characters
from careleads.text.triage._required_words import branches, variants

# What a triage nurse would want to see at once: current urgent symptoms, in the many ways people write.
TRIGGERING = [
    ("I've had crushing chest pain since this morning", "chest_pain"),
    ("my chest feels tight and heavy right now", "chest_pain"),
    ("CHEST PAIN AND SWEATING, CAN SOMEONE CALL ME", "chest_pain"),
    ("chset pian rn", "chest_pain"),
    ("pressure in my chest going down my left arm", "chest_pain"),
    ("I think I'm having a heart attack", "chest_pain"),
    ("I've never had chest pain like this before", "chest_pain"),
    ("I can't climb the stairs without chest pain", "chest_pain"),
    ("I had chest pain last year and now it's back", "chest_pain"),
    ("the chest pain went away but came back this morning", "chest_pain"),
    ("I'm not sure but I think my dad is having a heart attack", "chest_pain"),
    ("I can't breathe", "breathing"),
    ("cant breath, please help", "breathing"),
    ("my son is struggling to breathe and his lips are turning blue", "breathing"),
    ("no chest pain but I cannot catch my breath", "breathing"),
    ("my wife's face is drooping and her speech is slurred", "stroke"),
    ("I think my mom is having a stroke", "stroke"),
    ("he suddenly can't move his right arm", "stroke"),
    ("I've been having thoughts of hurting myself", "self_harm"),
    ("I feel suicidal", "self_harm"),
    ("sucidal thoughts again tonight", "self_harm"),
    ("I don't want to live anymore", "self_harm"),
    ("honestly I want to end my life", "self_harm"),
    ("thinking about killing myself", "self_harm"),
    ("the bleeding won't stop after my procedure", "bleeding"),
    ("I'm pregnant and bleeding heavily", "bleeding"),
    ("coughing up blood since yesterday", "bleeding"),
    ("I took too many of my pills on purpose", "overdose"),
    ("my roommate overdosed", "overdose"),
    ("my dad passed out and won't wake up", "consciousness"),
    ("my daughter is having a seizure", "consciousness"),
    ("my throat is closing after eating peanuts", "allergy"),
    ("worst headache of my life, came on suddenly", "headache"),
    ("tengo dolor de pecho muy fuerte", "spanish"),
    ("no puedo respirar", "spanish"),
    ("quiero morirme", "self_harm"),
]

# What a nurse would not want paged for: denied, resolved or past symptoms, and look-alike words.
NOT_TRIGGERING = [
    "No chest pain, just a checkup",
    "no chest pain or shortness of breath, only a cough",
    "not suicidal, just want to talk to someone about stress",
    "I'm not suicidal",
    "my chest pain from last year is gone",
    "The chest pain I had in March went away, want a follow-up with cardiology",
    "I had a heart attack in 2019 and need a routine cardiology follow-up",
    "my mom had a stroke years ago and needs physical therapy",
    "history of chest pain, fully worked up, now just need a refill",
    "I don't have any chest pain, I just want my heart checked",
    "denies chest pain",
    "without chest pain or dizziness, just palpitations once in a while",
    "Not having any trouble breathing, just a stuffy nose",
    "no thoughts of hurting myself, I'd just like therapy",
    "no tengo dolor de pecho, solo quiero un chequeo",
    "Hurt my shoulder at the gym, can't lift my arm above my head",
    "Do you accept Aetna?",
    "I need to pay my bill",
    "my back pain is killing me, can I get in this week",
    "is there a stroke prevention class?",
    "I want to stop taking my blood pressure pills",
    "Can I book a stress test for next month?",
    "it won't break the bank will it?",
    "I can't talk right now, please text me",
    "take my wife's name off the account",
    "",
]


@pytest.fixture(scope="module")
def detector() -> ClinicalTriageDetector:
    """A detector with the default lexicon, shared by the tests that only read it (its pre-filter is built
    once, which takes a tenth of a second)."""
    return ClinicalTriageDetector()


@pytest.fixture(scope="module")
def lexicon_filter(detector: ClinicalTriageDetector) -> TriageFilter:
    """The pre-filter of the default lexicon's patterns."""
    return TriageFilter(detector.matcher.sources)


@pytest.mark.parametrize(("text", "category"), TRIGGERING)
def test_urgent_symptoms_trigger(text: str, category: str) -> None:
    result = detect_urgent_symptoms(text)
    assert result.triggered, text
    assert result.category == category
    assert result.matched


@pytest.mark.parametrize("text", NOT_TRIGGERING)
def test_negated_past_or_unrelated_text_does_not_trigger(text: str) -> None:
    assert detect_urgent_symptoms(text) == TriageResult(False)


# Each step of the character fold decides a verdict: letter runs, typographic apostrophes, accents.
FOLDED = [
    ("CHEEEST PAAAIN since this morning", True),
    ("I can't breeeathe", True),
    ("my baby wasn’t breathing for a minute", True),
    ("I had chest pain last year and now it’s back", True),
    ("tuve dolor de pecho el año pasado, quiero un chequeo", False),
]


@pytest.mark.parametrize(("text", "triggered"), FOLDED)
def test_folded_characters_reach_the_lexicon(
    detector: ClinicalTriageDetector, text: str, triggered: bool
) -> None:
    assert detector.detect(text).triggered is triggered, text
    assert detector.triggered_many([text] * 64).tolist() == [triggered] * 64  # the batch path too


def test_lists_are_long_enough() -> None:
    assert len(TRIGGERING) >= 30
    assert len(NOT_TRIGGERING) >= 20


def test_none_gives_no_trigger() -> None:
    assert not detect_urgent_symptoms(None).triggered


def test_negation_does_not_cross_clause_boundaries() -> None:
    assert detect_urgent_symptoms("no fever, but crushing chest pain").triggered
    assert detect_urgent_symptoms("no, I can't breathe").triggered


def test_window_bounds_the_negation_scope() -> None:
    text = "no insurance card with me today and also chest pain"
    assert detect_urgent_symptoms(text).triggered
    assert not ClinicalTriageDetector(window=20).detect(text).triggered


def test_extra_patterns_extend_the_lexicon() -> None:
    text = "my baby has a fever of 105"
    assert not detect_urgent_symptoms(text).triggered
    detector = ClinicalTriageDetector(extra_patterns={"fever": [r"fever of 10[4-9]"]})
    result = detector.detect(text)
    assert result == TriageResult(True, "fever of 105", "fever")
    assert not detector.detect("no fever of 105, just a cold").triggered


def test_detect_many_keeps_order() -> None:
    results = ClinicalTriageDetector().detect_many(["I can't breathe", "book a physical", None])
    assert [r.triggered for r in results] == [True, False, False]


# --- the batch path: detect_many == detect, the pre-filter never drops a triggering text ----------------


def _typos(text: str, rng: np.random.Generator, n: int) -> list[str]:
    """`n` copies of `text`, each with one random edit (delete, insert, substitute or swap neighbours)."""
    out = []
    letters = "abcdefghijklmnopqrstuvwxyz"
    for _ in range(n):
        i = int(rng.integers(0, max(len(text) - 1, 1)))
        kind = int(rng.integers(0, 4))
        c = letters[int(rng.integers(0, 26))]
        if kind == 0:
            out.append(text[:i] + text[i + 1 :])
        elif kind == 1:
            out.append(text[:i] + c + text[i:])
        elif kind == 2:
            out.append(text[:i] + c + text[i + 1 :])
        else:
            out.append(text[:i] + text[i + 1 : i + 2] + text[i : i + 1] + text[i + 2 :])
    return out


def _batch_texts() -> list[str | None]:
    rng = np.random.default_rng(7)
    base = [t for t, _ in TRIGGERING] + NOT_TRIGGERING
    texts: list[str | None] = [*base, None, "   ", "\n"]
    for text in base:
        texts += _typos(text, rng, 12)
        texts += [text.upper(), text.replace("'", "’"), text.replace(" ", "  -  "), f"Hola. {text}! Gracias"]
        texts += [text.replace("a", "á").replace("e", "é"), text.replace("o", "ooo"), f"no {text}"]
        texts += [f"Quick question: {text} (asking for my mom); can you call me?"]
    texts += [
        "my chest is tight 🙏",
        "İ can't breathe",
        "ＣＨＥＳＴ ＰＡＩＮ",
        "can not breathe",
        "I cannot breathe",
    ]
    texts += ["cant-breathe", "my self harm", "killing my self", "do not want to live", "i m suicidal"]
    questions = generate(3_000, seed=11).leads["question"].tolist()
    return texts + [q if isinstance(q, str) else None for q in questions]


def test_detect_many_equals_detect_on_every_text(detector: ClinicalTriageDetector) -> None:
    texts = _batch_texts()
    one = [detector.detect(t) for t in texts]
    assert detector.detect_many(texts) == one
    assert sum(r.triggered for r in one) > 300  # the comparison covered many triggering texts
    may = detector.candidates(texts)
    assert all(may[i] for i, r in enumerate(one) if r.triggered)
    assert may.mean() < 0.5  # the pre-filter does filter
    assert detector.triggered_many(texts).tolist() == [r.triggered for r in one]


def test_detect_many_with_extra_and_unreadable_patterns() -> None:
    texts = _batch_texts()
    for extra in ({"fever": [r"fever of 10[4-9]", r"(?:high|very high) fever"]}, {"x": [r"(?=chest)\w+"]}):
        detector = ClinicalTriageDetector(extra_patterns=extra)
        assert detector.detect_many([*texts, "my baby has a fever of 105"]) == [
            detector.detect(t) for t in [*texts, "my baby has a fever of 105"]
        ]
    assert not TriageFilter([r"(?=chest)\w+"]).usable
    assert not TriageFilter([r"\w+ing"]).usable  # nothing required at a token start: every text passes
    assert TriageFilter([r"\w+ pain"]).usable  # "pain" follows a space: it starts a token


def _bits_reference(flt: TriageFilter, pieces: list[str]) -> np.ndarray:
    return flt.as_rows([flt.piece_bits(p) for p in pieces])


def test_bits_of_many_pieces_equal_piece_bits_of_each(lexicon_filter: TriageFilter) -> None:
    """The column-wise required-word bits of pieces (folding, tokens, typo correction, contractions) are
    `piece_bits`' (the per-piece reference) for typos of every lexicon word, long words corrected within two
    edits, contraction starters, real words, digits, punctuation, accents, letter runs and other scripts."""
    rng = np.random.default_rng(5)
    flt = lexicon_filter
    pieces = [t for word in FUZZY_VOCABULARY for t in _typos(word, rng, 12)]
    pieces += [t for word in FUZZY_VOCABULARY for t in _typos(_typos(word, rng, 1)[0], rng, 3)]  # two edits
    pieces += [p for text in _batch_texts() if text for p in text.split()]
    pieces += [
        "can",
        "Can't",
        "don’t",
        "I",
        "i'm",
        "my",
        "won't",
        "isn't",
        "didn't",
        "CHEST,",
        "(chest)",
        "chest.",
    ]
    pieces += [
        "chesst",
        "cheeest",
        "Müde",
        "İstanbul",
        "straße",
        "dolor-de-pecho",
        "ñ",
        "😀",
        "a1b2",
        "2024",
        "",
    ]
    pieces += [
        "".join(rng.choice(list("abcdefghijklmnoprstu0'’.,-"), int(rng.integers(1, 12)))) for _ in range(3000)
    ]
    got = flt.pieces_bits(pa.array(pieces, type=pa.large_string()))
    want = _bits_reference(flt, pieces)
    assert (got == want).all(), [p for p, g, w in zip(pieces, got, want, strict=True) if (g != w).any()][:10]
    carrying = want.any(axis=1)
    assert carrying.sum() > 500 and (~carrying).sum() > 1000  # both kinds were compared
    # typos corrected column-wise: pieces whose own spelling carries nothing, but their correction does
    own = flt.as_rows([flt.word_bits(p) for p in pieces])
    assert (carrying & ~own.any(axis=1)).sum() > 300
    # a token is looked up as corrected, not as written: "chesf" is a typo of the lexicon word "chest"
    chesf = TriageFilter([r"chesf\w*"])
    some = ["chesf", "chesfboards", "Chesf!", "chest"]
    assert (chesf.pieces_bits(pa.array(some)) == _bits_reference(chesf, some)).all()
    assert _bits_reference(chesf, some).any(axis=1).tolist() == [False, True, False, False]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.text(
            alphabet=st.sampled_from(list("chestpainbrhkdlmy'’.,!-_/0123456789áéñÇ")), min_size=1, max_size=14
        ),
        max_size=40,
    )
)
def test_bits_of_any_pieces_equal_piece_bits_of_each(lexicon_filter: TriageFilter, pieces: list[str]) -> None:
    flt = lexicon_filter
    got = flt.pieces_bits(pa.array(pieces, type=pa.large_string()))
    assert (got == _bits_reference(flt, pieces)).all()


def test_required_words_of_lexicon_patterns() -> None:
    def words(pattern: str) -> list[list[list[tuple[str, bool]]]]:
        return [sorted(sorted(atom) for atom in branch) for branch in required_atoms(pattern)]

    assert words("heart attack") == [[[("attack", False)], [("heart", True)]]]
    assert words(r"(?:dont|do not) want") == [[[("do", True), ("dont", True)], [("want", False)]]]
    assert words(r"(?:having|had) (?:a )?seizures?") == [
        [[("had", True), ("having", True)], [("seizure", False)]]
    ]
    # an optional word glued on without a space ("mychest") is not a token start: not required
    assert words(r"pain in (?:my|the)? ?chest") == [[[("in", True)], [("pain", True)]]]
    assert words(r"suicid\w*|overdos\w*") == [[[("suicid", False)]], [[("overdos", False)]]]


def test_variants_match_what_their_branch_matches(detector: ClinicalTriageDetector) -> None:
    """Groups become each of their branches, ``?`` parts are left out or kept once; other quantifiers stay."""
    assert sorted(variants(r"pain in (?:my|the)? ?chest") or []) == sorted(
        [
            "pain in  chest",
            "pain in chest",
            "pain in my chest",
            "pain in mychest",
            "pain in the chest",
            "pain in thechest",
        ]
    )
    assert variants(r"chest pains?") == ["chest pain", "chest pains"]
    assert variants(r"self ?harm\w*") == [r"selfharm\w*", r"self harm\w*"]
    assert variants(r"(?:very )*bad") == [r"(?:very )*bad"]  # repeats stay as written
    assert (
        variants("(?:a|b)(?:c|d)(?:e|f)(?:g|h)(?:i|j)(?:k|l)(?:m|n)(?:o|p)(?:q|r)(?:s|t)") is None
    )  # too many
    # every lexicon branch: a text matches the branch exactly when it matches one of its variants
    samples = [" ".join(normalise(text)) for text, _ in TRIGGERING]
    samples += ["pain in mychest", "cant get enough air", "chest pains"]
    for pattern in detector.matcher.sources:
        for branch in branches(pattern):
            forms = variants(branch)
            if forms is None:
                continue
            # compiled once each: the lexicon has more variants than the `re` module's cache holds
            whole = re.compile(f"(?:{branch})")
            parts = [re.compile(f"(?:{v})") for v in forms]
            for text in samples:
                for start in range(len(text)):
                    rest = text[start:]
                    matched = whole.match(rest) is not None
                    assert matched == any(part.match(rest) is not None for part in parts), (branch, text)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_the_pre_filter_keeps_every_text_a_lexicon_pattern_matches(
    detector: ClinicalTriageDetector, data: st.DataObject
) -> None:
    """Texts written from the lexicon's own patterns (any branch, optional part and repeat), with words
    around them, are candidates whenever the detector triggers on them (it triggers on nearly all)."""
    pattern = data.draw(st.sampled_from(list(detector.matcher.sources)))
    core = data.draw(
        st.from_regex(pattern, fullmatch=True, alphabet=st.sampled_from(list("abcdefghijklmnopqrstuvwxyz '")))
    )
    before = data.draw(st.sampled_from(["", "Hi, ", "my dad says ", "Quick question: "]))
    text = before + core + data.draw(st.sampled_from(["", " right now", ". Please call."]))
    if detector.detect(text).triggered:
        assert detector.candidates([text]).tolist() == [True], text


def test_the_pre_filter_reads_words_inside_groups(detector: ClinicalTriageDetector) -> None:
    """Each variant of a pattern needs its own words: common words that only some variants need (``get``,
    ``right``, ``in``) do not make every text holding them a candidate."""
    texts = [
        "I can't make it Tuesday, can I get a morning slot?",
        "pain in my shoulder since Monday",
        "I can't come in, is there a video visit for my knee pain?",
        "pain in my chest since Monday",
        "I can't get enough air",
        "cant catch my breath",
    ]
    assert detector.candidates(texts).tolist() == [False, False, False, True, True, True]
    assert [detector.detect(t).triggered for t in texts[3:]] == [True, True, True]


def _osa_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance (insert, delete, substitute, swap neighbours), in plain Python."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]


def test_osa_reference_distance() -> None:
    assert _osa_distance("chest", "chset") == 1  # a swap of neighbours is one edit
    assert _osa_distance("chest", "chst") == 1
    assert _osa_distance("ca", "abc") == 3  # OSA, not unrestricted Damerau-Levenshtein (2)
    assert _osa_distance("", "abc") == 3
    assert OSA.distance("ca", "abc") == 3  # what `correct` uses computes the same distance


def test_typo_correction_equals_the_plain_search() -> None:
    """`correct` (RapidFuzz) gives the plain search's word: the nearest within the limit, first on a tie."""

    @functools.cache  # each distinct token once: the plain distance is slow Python
    def distances(token: str) -> list[int]:
        return [_osa_distance(token, word) for word in FUZZY_VOCABULARY]

    @functools.cache
    def plain(token: str) -> str:
        if len(token) < 4 or token in REAL_WORDS or not token.isalpha():
            return token
        limit = 2 if len(token) >= 9 else 1
        best, best_distance = token, limit + 1
        for word, distance in zip(FUZZY_VOCABULARY, distances(token), strict=True):
            if distance < best_distance:
                best, best_distance = word, distance
        return best

    rng = np.random.default_rng(3)
    tokens = [t for word in FUZZY_VOCABULARY for t in _typos(word, rng, 30)]
    tokens += [t for text in _batch_texts()[:400] if text for t in text.lower().split()]
    # tokens one edit from two lexicon words: the first in lexicon order wins
    tokens += ["chast", "brest", "breat", "hart", "seizur", "cnat", "lif"]
    assert sum(plain(t) != t for t in tokens) > 500  # many tokens were corrected
    ties = [t for t in set(tokens) if plain(t) != t and sorted(distances(t)).count(min(distances(t))) > 1]
    assert ties  # the tie rule is exercised
    assert [correct.__wrapped__(t) for t in tokens] == [plain(t) for t in tokens]


def test_column_wise_corrections_equal_correct_on_every_token() -> None:
    """`corrections` gives `correct`'s word for typos (one and two edits), real and lexicon words, short
    tokens, digits, upper case, accents and other scripts, and random letters."""
    rng = np.random.default_rng(9)
    tokens = [t for word in FUZZY_VOCABULARY for t in _typos(word, rng, 15)]
    tokens += [t for word in FUZZY_VOCABULARY for t in _typos(_typos(word, rng, 1)[0], rng, 4)]
    tokens += [t for text in _batch_texts()[:400] if text for t in text.lower().split()]
    tokens += ["CHEST", "Chset", "chést", "pécho", "ＣＨＥＳＴ", "straße", "chest2", "ch", "", "want", "cart"]
    tokens += ["".join(rng.choice(list("abcdehilnoprst"), int(rng.integers(1, 12)))) for _ in range(3000)]
    index = corrections(pa.array(tokens, type=pa.large_string()))
    got = [FUZZY_VOCABULARY[k] if k >= 0 else t for t, k in zip(tokens, index, strict=True)]
    assert got == [correct.__wrapped__(t) for t in tokens]
    assert (index >= 0).sum() > 600 and len(set(index[index >= 0].tolist())) > 40  # many words corrected
    assert any(k >= 0 for t, k in zip(tokens, index, strict=True) if not t.isascii())  # "chést" -> "chest"


def test_normalise_equals_applying_every_contraction_fold() -> None:
    """Skipping the contraction folds when no phrase occurs changes no token list."""

    def plain(text: str) -> list[str]:
        lowered = " ".join(TOKEN.findall(fold_characters(text)))
        for pattern, replacement in CONTRACTIONS:
            lowered = pattern.sub(replacement, lowered)
        return [correct(token) for token in lowered.split()]

    texts = [t for t in _batch_texts() if t is not None]
    texts += [f"{a} {b}" for phrases, _ in CONTRACTION_PHRASES for a in phrases for b in ("breathe", "x")]
    texts += ["I don't- know", "i_m here", "can/not walk", "my-self", "Do NOT call", "havent isn't"]
    folded = [normalise(t) for t in texts]
    assert folded == [plain(t) for t in texts]
    assert sum(any(w in {"cant", "dont", "im", "myself"} for w in f) for f in folded) > 100  # folds ran


def test_distinct_rows_number_every_distinct_row_once() -> None:
    rng = np.random.default_rng(4)
    for shape in [(0, 2), (1, 1), (3000, 3), (5000, 2)]:
        rows = rng.integers(0, 5, size=shape).astype(np.uint64) << np.uint64(61)
        rows[:, 0] |= rng.integers(0, 3, size=shape[0]).astype(np.uint64)
        want = np.unique(rows, axis=0)
        got, which = distinct_rows(rows)
        assert np.array_equal(got[which], rows)  # each row's index points at its own values
        # each distinct row once
        assert len(got) == len(want) and np.array_equal(np.unique(got, axis=0), want)


def test_column_wise_normalisation_equals_the_detectors(detector: ClinicalTriageDetector) -> None:
    texts = [t for t in _batch_texts() if t is not None]
    texts += ["\nhello", "a,,b", "can\nnot breathe", "x\t\ty", "  ", "", "'''", "a--b//c__d", "I m ok"]
    texts += [
        "Can't   breathe!!!",
        "don t",
        "( chest ) pain",
        "\r\nchest pain\r\n",
        "cannot.breathe",
        "pain\x1cin",
    ]
    texts += ["\n", "\n\n can't \n\n", "a\n\nb", "(\n)", " \n.\n ", "can \n not breathe"]
    assert normalised_texts(texts) == [" ".join(normalise(t)) for t in texts]
    joined = normalised_texts(texts)
    found = lexicon_matches(joined, detector.matcher.any_pattern.pattern)
    assert found is not None and found.tolist() == [detector.matcher.occurs(j) for j in joined]
    assert lexicon_matches(joined, r"(?=chest)\w+") is None  # RE2 has no look-around: the caller falls back


_ANY_CHARACTER = "abcXYZ09 .,;:!?()'-_/\n\t\r\x0b\x0c#$%&*+<=>@[]^`{|}~\"é"


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.text(
            alphabet=st.sampled_from(list("abcXYZ09 .,;:!?()'-_/\n\t\r\x0b\x0c#$%&*+<=>@[]^`{|}~\"é")),
            max_size=40,
        ),
        min_size=1,
        max_size=60,
    )
)
def test_column_wise_normalisation_equals_the_detectors_on_any_characters(texts: list[str]) -> None:
    """Every character class the byte lookup blanks (or keeps) gives the detector's own tokens."""
    assert normalised_texts(texts) == [" ".join(normalise(t)) for t in texts]


def test_triggered_many_on_an_arrow_column(detector: ClinicalTriageDetector) -> None:
    texts = _batch_texts()
    want = [detector.detect(t).triggered for t in texts]
    assert detector.triggered_many(pa.array(texts)).tolist() == want
    assert detector.triggered_many(pa.chunked_array([texts[:100], texts[100:]])).tolist() == want
    assert detector.triggered_many(pa.array(texts[:10])).tolist() == want[:10]  # below the batch size
    chunked = pa.chunked_array([texts[:100], texts[100:]])
    assert detector.candidates(chunked).tolist() == detector.candidates(texts).tolist()
