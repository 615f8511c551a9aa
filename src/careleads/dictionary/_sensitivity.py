"""How sensitive a column is, read from its name and values, with a reason a person can check.

Healthcare lead scoring never uses a person's health as a marketing feature. A column is **sensitive**
when its name or its values speak of a health condition or diagnosis (ICD-10 codes included), a
medication, mental health, substance use, pregnancy, a disability, genetic information or HIV and sexually
transmitted infections; also age, sex and the other personal attributes kept for fairness reports only.
Names are split into words (snake_case, camelCase, spaces, digits) and each word is compared with a
vocabulary of medical stems (``diabet*`` reads ``diabetic``); a word of at least 5 letters that misses by a
letter or two (``diabetis``, ``hypertention``) is read as the word it resembles, unless it is an ordinary
word one letter away from a medical one (``cancel``, ``dental``).

**Care asked for is not a condition.** A service line, specialty or department ("Cardiology",
"Orthopedics", even "Behavioral Health") names the care a lead enquires about: a routing field the lead
chose to share with the provider, kept as a feature. Specialty names are not in the vocabulary, and values
of a column named like a service line, specialty, department, programme or interest are never read as
conditions. A column *named* after a condition (``diabetes_interest``) or holding ICD-10 codes is still
sensitive, whatever else its name says.

Geography (country, state, region, district, city, postcode) is a **quasi-identifier**, see
``careleads.dictionary._geography``; exact timestamps too. Free text is sensitive (it may hold names,
contact details or health details). The vocabularies come from general medical knowledge, never from a
particular file.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from careleads.dictionary._geography import (
    geography_word,
    is_postcode_name,
    looks_like_place_codes,
    looks_like_postcodes,
)
from careleads.dictionary._normalise import name_tokens
from careleads.dictionary._schema import FieldType, Sensitivity

# category -> entries (the word shown in reasons, then its forms: "stem*" matches words starting with it,
# anything else matches the whole word only)
HEALTH_VOCABULARY: dict[str, tuple[tuple[str, ...], ...]] = {
    "health condition": (
        ("diagnosis", "diagnos*", "dx", "icd", "comorbid*", "comorbidity"),
        ("condition", "condition", "conditions"),
        ("disease", "disease*"),
        ("disorder", "disorder*"),
        ("illness", "illness*", "ailment*", "sickness"),
        ("syndrome", "syndrome*"),
        ("chronic", "chronic*"),
        ("allergy", "allerg*"),
        ("symptom", "symptom*"),
        ("diabetes", "diabet*", "prediabet*"),
        ("hypertension", "hypertens*", "htn"),
        ("hypotension", "hypotens*"),
        ("asthma", "asthm*"),
        ("cancer", "cancer", "cancers", "cancerous", "tumor*", "tumour*", "carcinom*", "metasta*"),
        ("leukaemia", "leukemi*", "leukaemi*", "lymphom*", "melanom*"),
        ("arthritis", "arthrit*"),
        ("osteoporosis", "osteopor*"),
        ("obesity", "obes*", "overweight", "bmi"),
        ("stroke", "stroke", "strokes"),
        ("dementia", "dementi*", "alzheimer*"),
        ("parkinson", "parkinson*"),
        ("epilepsy", "epilep*", "seizure*"),
        ("migraine", "migraine*"),
        ("sclerosis", "sclerosis"),
        ("copd", "copd", "emphysem*", "bronchit*"),
        ("pneumonia", "pneumoni*"),
        ("tuberculosis", "tubercul*"),
        ("hepatitis", "hepatit*", "cirrhos*"),
        ("kidney disease", "kidney*", "ckd", "renal", "dialysis"),
        ("cholesterol", "cholesterol*", "hyperlipid*"),
        ("thyroid", "thyroid*", "hypothyroid*", "hyperthyroid*"),
        ("anaemia", "anemi*", "anaemi*", "sickle"),
        ("haemophilia", "hemophil*", "haemophil*"),
        ("lupus", "lupus"),
        ("fibromyalgia", "fibromyalg*"),
        ("colitis", "crohn*", "colitis", "celiac", "coeliac"),
        ("glaucoma", "glaucom*", "cataract*"),
        ("infertility", "infertil*", "endometrios*"),
        ("insomnia", "insomni*", "apnea", "apnoea"),
        ("eczema", "eczema", "psoriasis"),
        ("injury", "injur*", "fracture*"),
        ("chemotherapy", "chemotherap*", "chemo", "radiotherap*"),
        ("cardiovascular disease", "cardiovascular", "arrhythmi*", "angina"),
        ("covid", "covid*"),
    ),
    "mental health": (
        ("mental health", "mental*"),
        ("depression", "depress*"),
        ("anxiety", "anxiety", "anxious"),
        ("psychiatric", "psychiatr*", "psychos*", "psychotic"),
        ("bipolar", "bipolar"),
        ("schizophrenia", "schizo*"),
        ("ptsd", "ptsd", "ocd", "adhd"),
        ("autism", "autis*"),
        ("eating disorder", "anorexi*", "bulimi*"),
        ("suicide", "suicid*", "selfharm"),
    ),
    "medication": (
        ("medication", "medicat*", "meds"),
        ("prescription", "prescri*", "rx"),
        ("drug", "drug", "drugs"),
        ("dosage", "dose", "doses", "dosage", "mg"),
        ("insulin", "insulin"),
        ("statin", "statin", "statins"),
        ("antidepressant", "antidepress*", "antipsychot*", "antibiotic*", "antihistamin*"),
        ("inhaler", "inhaler*"),
        # common generic and brand names
        ("metformin", "metformin"),
        ("lisinopril", "lisinopril"),
        ("atorvastatin", "atorvastatin", "simvastatin", "rosuvastatin"),
        ("amlodipine", "amlodipine"),
        ("levothyroxine", "levothyroxine"),
        ("omeprazole", "omeprazole", "pantoprazole"),
        ("albuterol", "albuterol", "salbutamol"),
        ("sertraline", "sertraline", "fluoxetine", "citalopram", "escitalopram", "paroxetine"),
        ("bupropion", "bupropion", "trazodone"),
        ("gabapentin", "gabapentin", "pregabalin"),
        ("oxycodone", "oxycodone", "hydrocodone", "morphine", "fentanyl", "tramadol", "codeine"),
        ("methadone", "methadone", "buprenorphine", "naloxone"),
        ("prednisone", "prednisone", "prednisolone"),
        ("warfarin", "warfarin", "apixaban", "clopidogrel"),
        ("losartan", "losartan", "metoprolol", "atenolol", "furosemide", "hydrochlorothiazide"),
        ("montelukast", "montelukast"),
        ("lorazepam", "lorazepam", "alprazolam", "diazepam", "clonazepam"),
        ("quetiapine", "quetiapine", "aripiprazole", "risperidone", "lithium"),
        ("methylphenidate", "methylphenidate", "adderall"),
        ("semaglutide", "semaglutide", "ozempic", "liraglutide", "tirzepatide", "glipizide", "sitagliptin"),
        ("amoxicillin", "amoxicillin", "azithromycin"),
    ),
    "substance use": (
        ("smoking", "smok*", "tobacco", "nicotin*", "cigar*", "vape", "vaper", "vaping"),
        ("alcohol", "alcohol*", "drinker", "drinkers", "drinking"),
        ("drug use", "cannabis", "marijuana", "heroin", "cocain*", "methamphet*", "narcotic*", "overdose*"),
        ("opioid", "opioid*", "opiate*"),
        ("addiction", "addict*", "substance*"),
    ),
    "pregnancy": (
        (
            "pregnancy",
            "pregnan*",
            "gestation*",
            "trimester*",
            "prenatal",
            "antenatal",
            "miscarri*",
            "abortion*",
        ),
    ),
    "disability": (
        ("disability", "disability", "disabilities", "handicap*", "impairment*", "impaired", "wheelchair"),
        ("deafness", "deaf", "blind", "blindness", "amput*"),
    ),
    "genetic information": (
        ("genetic", "genetic*", "genom*", "gene", "genes", "genotyp*", "hereditar*", "brca*", "dna"),
    ),
    "HIV or STI": (
        ("HIV", "hiv"),
        ("sexually transmitted infection", "sti", "stis", "stds", "venereal", "sexually"),
        ("syphilis", "syphilis", "gonorrh*", "chlamydia", "herpes", "hpv"),
    ),
}
# personal attributes: fairness reports only, never features (token -> word shown)
PERSONAL_ATTRIBUTES: dict[str, str] = {
    "age": "age",
    "sex": "sex",
    "gender": "sex",
    "race": "ethnicity",
    "ethnicity": "ethnicity",
    "ethnic": "ethnicity",
    "religion": "religion",
    "religious": "religion",
    "marital": "marital status",
    "orientation": "sexual orientation",
    "sexuality": "sexual orientation",
    "nationality": "nationality",
    "citizenship": "nationality",
}
# ordinary words a letter away from a medical word: never read as the medical one
ORDINARY_WORDS: frozenset[str] = frozenset(
    {
        "cancel",
        "canceled",
        "cancelled",
        "dental",
        "rental",
        "medial",
        "metal",
        "media",
        "medium",
        "strike",
        "stoke",
        "status",
        "stages",
        "states",
        "region",
        "series",
        "drive",
        "drink",
        "drinks",
        "gender",
        "genre",
        "genus",
        "lotus",
        "lupin",
        "angle",
        "angular",
        "diagram",
        "mentor",
        "rented",
        "dosing",
        "smoky",
        "statue",
        "retina",
        "retinal",
        "asthmatic",
    }
)
# name words of a column holding the care a lead asks about (routing), not the lead's health
CARE_ASKED_WORDS: frozenset[str] = frozenset(
    {
        "service",
        "services",
        "specialty",
        "speciality",
        "specialties",
        "specialisation",
        "specialization",
        "department",
        "dept",
        "division",
        "program",
        "programme",
        "interest",
        "interested",
        "clinic",
        "practice",
        "unit",
        "procedure",
        "treatment",
        "requested",
        "enquiry",
        "inquiry",
    }
)
# a column named "...conditions" that speaks of terms and consent, not health
_TERMS_WORDS = frozenset({"terms", "term", "accepted", "accept", "agree", "agreed", "consent", "legal"})

# ICD-10: a letter (not U), two characters, optionally a dot and up to four more
_ICD10 = re.compile(r"[A-TV-Z][0-9][0-9AB](?:\.?[0-9A-TV-Z]{1,4})?")
_ICD_SHARE = 0.8
_ICD_MIN_LETTERS = 3  # diagnoses span chapters; campaign codes ("C01", "C02") share one letter
_HEALTH_VALUE_SHARE = 0.5
_MIN_DISTINCT = 3
_FUZZY_MIN_LENGTH = 5
_SAMPLE_VALUES = 2000
# name words that name a place only when the values do: a "state" of open/closed is a status
AMBIGUOUS_GEOGRAPHY_WORDS = frozenset({"state"})
_MIN_PLACES = 10

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_PHONE = re.compile(r"^\+?[\d\s().\-/]{7,20}$")
_PERSON_NAME = re.compile(
    r"^(first|last|full|given|family|sur|middle|maiden|patient|contact|person|customer|client|lead)?_?name$|^surname$"
)
_DIRECT_WORDS = re.compile(
    r"(^|_)(e_?mail|phone|mobile|cell|tel|telephone|fax|address|street|ssn|social_security|mrn|medical_record|"
    r"dob|birth_?date|date_of_birth|ip_address|passport|licen[cs]e_number)($|_)"
)

# words that make a contact-named column an activity count or a flag ("email_opens", "phone_calls")
_ACTIVITY_WORDS = frozenset(
    {
        "opens",
        "opened",
        "clicks",
        "clicked",
        "sent",
        "count",
        "calls",
        "bounced",
        "bounces",
        "unsubscribed",
        "optin",
        "opt",
        "verified",
        "valid",
        "consent",
        "domain",
        "type",
        "replies",
        "replied",
    }
)


@dataclass(frozen=True)
class SensitivityGuess:
    """A column's sensitivity and why (empty for a safe column)."""

    sensitivity: Sensitivity
    reason: str = ""


def _entries() -> tuple[dict[str, tuple[str, str]], list[tuple[str, str, str]], dict[str, tuple[str, str]]]:
    exact: dict[str, tuple[str, str]] = {}
    stems: list[tuple[str, str, str]] = []
    fuzzy: dict[str, tuple[str, str]] = {}
    for category, entries in HEALTH_VOCABULARY.items():
        for shown, *forms in entries:
            for form in forms:
                if form.endswith("*"):
                    stems.append((form[:-1], category, shown))
                else:
                    exact[form] = (category, shown)
                    if len(form) >= _FUZZY_MIN_LENGTH:
                        fuzzy[form] = (category, shown)
            word = re.sub(r"[^a-z]", "", shown.lower())
            if len(word) >= _FUZZY_MIN_LENGTH and " " not in shown:
                fuzzy.setdefault(word, (category, shown))
    stems.sort(key=lambda entry: -len(entry[0]))  # the longest stem names the word best
    return exact, stems, fuzzy


_EXACT, _STEMS, _FUZZY = _entries()


def _edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (a swap of neighbours counts once), capped at ``limit + 1``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def _match(token: str) -> tuple[str, str, bool] | None:
    """(category, word shown, read through a misspelling) for one lower-case word, or None."""
    if token in _EXACT:
        return (*_EXACT[token], False)
    for stem, category, shown in _STEMS:
        if token.startswith(stem):
            return category, shown, False
    if len(token) < _FUZZY_MIN_LENGTH or token in ORDINARY_WORDS or not token.isalpha():
        return None
    limit = 1 if len(token) <= 8 else 2
    best: tuple[int, str] | None = None
    for word in _FUZZY:
        if word[0] != token[0]:
            continue
        distance = _edit_distance(token, word, limit)
        if distance <= limit and (best is None or distance < best[0]):
            best = (distance, word)
    if best is None:
        return None
    category, shown = _FUZZY[best[1]]
    return category, shown, True


def health_term(token: str) -> tuple[str, str] | None:
    """The health category and the word a name word reads as, or None.

    Examples
    --------
    >>> health_term("hypertention"), health_term("campaign")
    (('health condition', 'hypertension'), None)
    """
    found = _match(token.lower())
    return None if found is None else (found[0], found[1])


def _name_health(original: str, tokens: Sequence[str]) -> str | None:
    for token in tokens:
        found = _match(token)
        if found is None:
            continue
        category, shown, fuzzy = found
        if shown == "condition" and _TERMS_WORDS & set(tokens):
            continue  # terms and conditions
        verb = "mentions" if token == shown.lower() and not fuzzy else "reads as"
        return f"{category} (name {original!r} {verb} {shown!r})"
    if "health" in tokens and {"status", "history", "issue", "issues", "problem", "problems"} & set(tokens):
        return f"health condition (name {original!r} mentions the person's health)"
    return None


def _sample(counts: pd.Series) -> pd.Series:
    counts = counts.iloc[:_SAMPLE_VALUES]
    counts.index = [str(value).strip() for value in counts.index]
    return counts


def _icd_reason(original: str, counts: pd.Series) -> str | None:
    if len(counts) < _MIN_DISTINCT:
        return None
    values = [str(value).upper() for value in counts.index]
    matches = [bool(_ICD10.fullmatch(value)) for value in values]
    total = int(counts.sum())
    if total == 0 or float(counts[matches].sum()) / total < _ICD_SHARE:
        return None
    codes = [value for value, match in zip(values, matches, strict=True) if match]
    dotted = sum("." in code for code in codes) / len(codes)
    if len({code[0] for code in codes}) < _ICD_MIN_LETTERS and dotted < 0.3:
        return None
    return f"health condition (values of {original!r} look like ICD-10 diagnosis codes, e.g. {codes[0]!r})"


def _values_health(original: str, counts: pd.Series) -> str | None:
    if len(counts) < _MIN_DISTINCT:
        return None
    rows: dict[str, int] = {}
    example: dict[str, str] = {}
    for value, n_rows in counts.items():
        for token in name_tokens(str(value)):
            found = _match(token)
            if found is not None:
                rows[found[0]] = rows.get(found[0], 0) + int(n_rows)
                example.setdefault(found[0], str(value))
                break
    total = int(counts.sum())
    if not rows or total == 0 or sum(rows.values()) / total < _HEALTH_VALUE_SHARE:
        return None
    category = max(rows, key=lambda key: rows[key])
    return f"{category} (most values of {original!r} name one, e.g. {example[category]!r})"


def _direct_reason(original: str, name: str, field_type: FieldType, counts: pd.Series) -> str | None:
    named = _PERSON_NAME.search(name) or _DIRECT_WORDS.search(name)
    if named and field_type is not FieldType.BOOLEAN and not _ACTIVITY_WORDS & set(name.split("_")):
        return f"direct identifier (name {original!r})"
    values = pd.Series(counts.index, dtype="string")
    if not len(values):
        return None
    if values.str.match(_EMAIL.pattern).mean() >= 0.5:
        return f"direct identifier (values of {original!r} are e-mail addresses)"
    if (values.str.match(_PHONE.pattern).mean() >= 0.8 and values.str.count(r"\d").min() >= 9) and (
        values.str.contains(r"[\s()+\-.]", regex=True).mean() >= 0.5
        or values.str.startswith("0").mean() >= 0.5
    ):
        return f"direct identifier (values of {original!r} are phone numbers)"
    return None


def geography_reason(original: str, field_type: FieldType, counts: pd.Series) -> str | None:
    """Why a column is a place (a quasi-identifier), or None: its name or its values (postcodes, codes)."""
    tokens = name_tokens(original)
    counts = _sample(counts)
    text_values = field_type is not FieldType.NUMBER
    if is_postcode_name(tokens) or (text_values and looks_like_postcodes(counts)):
        how = f"name {original!r}" if is_postcode_name(tokens) else f"values of {original!r}"
        return f"postcode ({how}), a quasi-identifier; models use its area (first 3 characters)"
    word = geography_word(tokens)
    if word in AMBIGUOUS_GEOGRAPHY_WORDS and len(counts) < _MIN_PLACES and not looks_like_place_codes(counts):
        word = None  # "state: open / closed" is a status, not a place
    if word is not None:
        return f"geography (name {original!r} mentions {word!r}), a quasi-identifier; rare levels grouped"
    if text_values and looks_like_place_codes(counts):
        return f"geography (values of {original!r} are country or state codes), a quasi-identifier"
    return None


def guess_sensitivity(original: str, name: str, field_type: FieldType, counts: pd.Series) -> SensitivityGuess:
    """Guess a column's sensitivity from its name (as written and canonical), type and value counts.

    Parameters
    ----------
    original : str
        The column name as written in the file (shown in reasons).
    name : str
        The canonical snake_case name.
    field_type : FieldType
        The type inferred for the column.
    counts : pandas.Series
        Non-missing value -> rows, most frequent first.

    Returns
    -------
    SensitivityGuess
        Direct identifier, sensitive (health, personal attributes, free text), quasi-identifier (places,
        timestamps) or safe, with the reason.

    Examples
    --------
    >>> guess = guess_sensitivity("diabetis", "diabetis", FieldType.BOOLEAN, pd.Series({"yes": 2, "no": 5}))
    >>> guess.sensitivity.value, guess.reason
    ('sensitive', "health condition (name 'diabetis' reads as 'diabetes')")
    """
    counts = _sample(counts)
    direct = _direct_reason(original, name, field_type, counts)
    if direct is not None:
        return SensitivityGuess(Sensitivity.DIRECT_IDENTIFIER, direct)
    tokens = name_tokens(original)
    health = _name_health(original, tokens)
    if health is None and field_type is not FieldType.NUMBER:
        health = _icd_reason(original, counts)
        if health is None and field_type is not FieldType.BOOLEAN and not CARE_ASKED_WORDS & set(tokens):
            health = _values_health(original, counts)
    if health is not None:
        return SensitivityGuess(Sensitivity.SENSITIVE, health)
    personal = next((PERSONAL_ATTRIBUTES[token] for token in tokens if token in PERSONAL_ATTRIBUTES), None)
    if personal is not None:
        return SensitivityGuess(
            Sensitivity.SENSITIVE,
            f"personal attribute (name {original!r} mentions {personal!r}), for fairness reports only",
        )
    place = geography_reason(original, field_type, counts)
    if place is not None:
        return SensitivityGuess(Sensitivity.QUASI_IDENTIFIER, place)
    if field_type is FieldType.DATETIME:
        return SensitivityGuess(
            Sensitivity.QUASI_IDENTIFIER, "timestamp (exact moments identify in combination)"
        )
    if field_type is FieldType.TEXT:
        return SensitivityGuess(
            Sensitivity.SENSITIVE, "free text (may hold names, contact details or health details)"
        )
    return SensitivityGuess(Sensitivity.SAFE)


__all__ = [
    "AMBIGUOUS_GEOGRAPHY_WORDS",
    "CARE_ASKED_WORDS",
    "HEALTH_VOCABULARY",
    "ORDINARY_WORDS",
    "PERSONAL_ATTRIBUTES",
    "SensitivityGuess",
    "geography_reason",
    "guess_sensitivity",
    "health_term",
]
