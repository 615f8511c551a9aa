"""Geography in lead exports: recognising place columns by name or values, and coarsening postcodes.

A place (country, state, region, district, city, postcode) is a legitimate lead-scoring field: where a lead
lives decides which site can serve them. It is a *quasi-identifier*, not a sensitive attribute: identifying
only in combination with other fields, so it is kept as a feature at a coarse level. Two things coarsen it:

- :func:`postcode_area` keeps a postcode's area (the first 3 characters of the outward code, the first 3
  digits of a US ZIP), applied to every postcode column of an evaluated file by :func:`coarsen_postcodes`;
- the model's features (``careleads.models.TabularFeatures``) group the levels seen in fewer than
  ``min_frequency`` training rows as one ``(rare)`` level, so a district with a handful of leads never
  stands out on its own.

The vocabularies come from general geographic knowledge (ISO 3166 country codes, US state codes, common
postcode shapes), never from a particular file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import pandas as pd

from careleads.dictionary._normalise import name_tokens
from careleads.dictionary._schema import FieldSpec, FieldType, Sensitivity

# name tokens that name a place
GEOGRAPHY_WORDS: frozenset[str] = frozenset(
    {
        "country",
        "countries",
        "nation",
        "state",
        "province",
        "region",
        "regions",
        "district",
        "county",
        "city",
        "town",
        "village",
        "municipality",
        "territory",
        "suburb",
        "locality",
        "borough",
        "parish",
        "canton",
        "prefecture",
        "geo",
        "geography",
        "metro",
        "dma",
        "lat",
        "latitude",
        "lon",
        "lng",
        "longitude",
    }
)
# name tokens that name a postcode ("post code", "postal code" and "zip code" are read in pairs)
POSTCODE_WORDS: frozenset[str] = frozenset({"zip", "zipcode", "postcode", "postal", "pincode", "plz", "cep"})
_POSTCODE_PAIRS = frozenset({("post", "code"), ("zip", "code"), ("pin", "code"), ("postal", "code")})

_ISO_ALPHA2 = (
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV "
    "BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES "
    "ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE "
    "IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY "
    "MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU "
    "NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM "
    "SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE "
    "VG VI VN VU WF WS YE YT ZA ZM ZW UK"
)
_US_STATES = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC "
    "ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR GU VI AS MP"
)
_ISO_ALPHA3 = (
    "USA GBR DEU FRA ESP ITA NLD BEL CHE AUT IRL PRT SWE NOR DNK FIN POL CZE HUN ROU GRC TUR RUS UKR CAN "
    "MEX BRA ARG CHL COL PER AUS NZL IND PAK BGD CHN JPN KOR SGP MYS IDN PHL THA VNM ZAF NGA KEN EGY MAR "
    "ISR SAU ARE QAT"
)
PLACE_CODES: frozenset[str] = frozenset((_ISO_ALPHA2 + " " + _US_STATES + " " + _ISO_ALPHA3).split())

# postcode shapes: US ZIP (and ZIP+4), UK, Canada, the Netherlands, and 4-6 digit codes elsewhere
_US_ZIP = re.compile(r"\d{5}(?:-\d{4})?")
_UK = re.compile(r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}")
_CANADA = re.compile(r"[A-Z]\d[A-Z] ?\d[A-Z]\d")
_DUTCH = re.compile(r"\d{4} ?[A-Z]{2}")
_POSTCODE_SHAPES = (_US_ZIP, _UK, _CANADA, _DUTCH)
_DIGITS = re.compile(r"\d{4,6}")

_SHARE = 0.9  # share of rows whose value must look like a postcode or a place code
_MIN_DISTINCT = 3  # a column of one or two values proves nothing
_AREA_LENGTH = 3


def is_postcode_name(tokens: Sequence[str]) -> bool:
    """Whether the name tokens name a postcode (``zip``, ``postcode``, ``post code``, ``postal_code``)."""
    return any(token in POSTCODE_WORDS for token in tokens) or any(
        pair in _POSTCODE_PAIRS for pair in zip(tokens, tokens[1:], strict=False)
    )


def geography_word(tokens: Sequence[str]) -> str | None:
    """The first name token naming a place, or None."""
    return next((token for token in tokens if token in GEOGRAPHY_WORDS), None)


def _share(counts: pd.Series, matches: Sequence[bool]) -> float:
    total = int(counts.sum())
    if total == 0:
        return 0.0
    return float(counts[list(matches)].sum()) / total


def looks_like_postcodes(counts: pd.Series, *, digits_only: bool = True) -> bool:
    """Whether nearly every row's value has a postcode's shape (US ZIP, UK, Canadian, Dutch).

    `counts` maps each distinct value to its rows. `digits_only=False` ignores all-digit values (5 digits
    read as numbers are more often amounts than ZIP codes).

    Examples
    --------
    >>> looks_like_postcodes(pd.Series({"SW1A 1AA": 4, "M1 1AE": 2, "EC1A 1BB": 1}))
    True
    """
    if len(counts) < _MIN_DISTINCT:
        return False
    values = [str(value).strip().upper() for value in counts.index]
    matches = [
        any(shape.fullmatch(value) for shape in _POSTCODE_SHAPES)
        and (digits_only or not value.replace("-", "").isdigit())
        for value in values
    ]
    return _share(counts, matches) >= _SHARE


def looks_like_place_codes(counts: pd.Series) -> bool:
    """Whether nearly every row's value is a country code (ISO 3166) or a US state code."""
    if len(counts) < _MIN_DISTINCT:
        return False
    return _share(counts, [str(value).strip().upper() in PLACE_CODES for value in counts.index]) >= _SHARE


def postcode_area(value: str) -> str:
    """A postcode's area: the first 3 characters of its outward code, the first 3 digits of a ZIP.

    Examples
    --------
    >>> postcode_area("SW1A 1AA"), postcode_area("M1 1AE"), postcode_area("02139-4307")
    ('SW1', 'M1', '021')
    """
    text = str(value).strip().upper()
    if not text:
        return ""
    if _US_ZIP.fullmatch(text) or _DIGITS.fullmatch(text):
        return text[:_AREA_LENGTH]
    outward = text.split()[0] if " " in text else text
    if _UK.fullmatch(text.replace(" ", "")) and " " not in text:
        outward = text[:-3]  # the inward code is always a digit and two letters
    return re.sub(r"[^A-Z0-9]", "", outward)[:_AREA_LENGTH]


def is_postcode_field(name: str, spec: FieldSpec, values: pd.Series) -> bool:
    """Whether a column holds postcodes: a quasi-identifying category named or valued like postcodes."""
    if spec.sensitivity is not Sensitivity.QUASI_IDENTIFIER or spec.type is not FieldType.CATEGORY:
        return False
    if any(is_postcode_name(name_tokens(text)) for text in (name, spec.name, *spec.aliases)):
        return True
    text = values.dropna().astype(str).str.strip()
    return looks_like_postcodes(text[text.str.len() > 0].value_counts())


def coarsen_postcodes(frame: pd.DataFrame, specs: Mapping[str, FieldSpec]) -> tuple[pd.DataFrame, list[str]]:
    """Replace every postcode column by its area (:func:`postcode_area`); the input frame is not changed.

    Parameters
    ----------
    frame : pandas.DataFrame
        Clean rows under the file's own column names.
    specs : mapping of str to FieldSpec
        Each column's dictionary entry.

    Returns
    -------
    (pandas.DataFrame, list of str)
        The frame with coarse postcodes (missing stays missing), and the columns coarsened.
    """
    columns = [
        name
        for name, spec in specs.items()
        if name in frame.columns and is_postcode_field(name, spec, frame[name])
    ]
    if not columns:
        return frame, []
    out = frame.copy()
    for name in columns:
        text = out[name].astype("string")
        out[name] = text.map(postcode_area, na_action="ignore").astype("string")
        out[name] = out[name].where(out[name].str.len() > 0)
    return out, columns


__all__ = [
    "GEOGRAPHY_WORDS",
    "PLACE_CODES",
    "POSTCODE_WORDS",
    "coarsen_postcodes",
    "geography_word",
    "is_postcode_field",
    "is_postcode_name",
    "looks_like_place_codes",
    "looks_like_postcodes",
    "postcode_area",
]
