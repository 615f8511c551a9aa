"""A fitted text classifier as data: TF-IDF n-gram vectors and a linear one-vs-rest model, in numpy.

:class:`LinearTextModel` is the predict-only form of the classifiers' scikit-learn pipeline (TF-IDF word and
character n-grams, an SGD logistic model). It is built from the fitted pipeline
(:meth:`LinearTextModel.from_pipeline`), written as JSON (:meth:`LinearTextModel.to_dict`: the vocabulary,
the idf weights, the coefficients; arrays as base64 of little-endian float64, so every number reads back
to the bit) and read back without scikit-learn and without running code (:meth:`LinearTextModel.from_dict`).
Its probabilities equal the pipeline's to rounding (tested to 1e-9 on generated texts), and both the
training data set and every scored lead get theirs from this one code.
"""

from __future__ import annotations

import base64
import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from careleads.errors import ConfigError
from careleads.types import FloatArray, IntArray

__all__ = ["LinearTextModel", "NgramTfidf", "TextVectors", "array_from_json", "array_to_json"]

ANALYZERS = ("word", "char_wb")
_KEPT_WORDS = 50_000  # words whose character n-gram columns are kept between calls
WORD_PATTERN = r"(?u)\b\w\w+\b"  # scikit-learn's default token pattern, the only one the pipeline uses


def array_to_json(values: Any) -> dict[str, Any]:
    """A float64 array as JSON: its shape and its little-endian bytes in base64 (exact, compact)."""
    array = np.ascontiguousarray(np.asarray(values, dtype="<f8"))
    return {"dtype": "<f8", "shape": list(array.shape), "base64": base64.b64encode(array.tobytes()).decode()}


def array_from_json(data: dict[str, Any], where: str) -> FloatArray:
    """Read an array written by :func:`array_to_json`."""
    if data.get("dtype") != "<f8":
        raise ConfigError(f"{where}: an array of dtype {data.get('dtype')!r}; expected '<f8'")
    shape = tuple(int(n) for n in data["shape"])
    array = np.frombuffer(base64.b64decode(data["base64"]), dtype="<f8")
    if array.size != int(np.prod(shape)):
        raise ConfigError(f"{where}: {array.size} numbers for shape {shape}; the file is damaged")
    return array.reshape(shape).astype(np.float64)


def _strip_accents(text: str) -> str:
    """Accents removed as scikit-learn's ``strip_accents="unicode"`` does."""
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _char_wb_grams(word: str, low: int, high: int) -> list[str]:
    """The ``char_wb`` n-grams of one word, padded with a space each side (scikit-learn's definition)."""
    padded = f" {word} "
    size = len(padded)
    grams: list[str] = []
    for n in range(low, high + 1):
        offset = 0
        grams.append(padded[offset : offset + n])
        while offset + n < size:
            offset += 1
            grams.append(padded[offset : offset + n])
        if offset == 0:  # a word shorter than n counts once
            break
    return grams


def _csr(n_rows: int, width: int, parts: Sequence[tuple[IntArray, IntArray, FloatArray]]) -> sp.csr_matrix:
    """A CSR matrix of ``(row, column, value)`` triples, each part ordered by row then column and every
    column of a part left of the next part's: built directly, with no duplicate summing or stacking."""
    row = np.concatenate([p[0] for p in parts]) if len(parts) > 1 else parts[0][0]
    order = np.argsort(row, kind="stable")  # rows in order; in a row, the parts' columns in order
    counts = np.bincount(row, minlength=n_rows)
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    columns = np.concatenate([p[1] for p in parts])[order].astype(np.int32)
    values = np.concatenate([p[2] for p in parts])[order]
    return sp.csr_matrix((values, columns, indptr), shape=(n_rows, width))


@dataclass(frozen=True, eq=False)
class NgramTfidf:
    """One TF-IDF part: word or word-bounded character n-grams, sublinear tf, idf, each row L2-normed.

    Attributes
    ----------
    analyzer : str
        ``"word"`` (tokens of two or more word characters) or ``"char_wb"``.
    ngram_range : (int, int)
        Smallest and largest n.
    vocabulary : dict
        Term to column.
    idf : array
        The idf weight of each column.
    lowercase, strip_accents, sublinear_tf, l2_norm : bool
        The preprocessing and weighting steps that apply.
    """

    analyzer: str
    ngram_range: tuple[int, int]
    vocabulary: dict[str, int]
    idf: FloatArray
    lowercase: bool = True
    strip_accents: bool = True
    sublinear_tf: bool = True
    l2_norm: bool = True

    def __post_init__(self) -> None:
        if self.analyzer not in ANALYZERS:
            raise ConfigError(f"text features: analyzer {self.analyzer!r} is not one of {ANALYZERS}")
        if len(self.idf) != len(self.vocabulary):
            raise ConfigError(
                f"text features: {len(self.vocabulary)} terms but {len(self.idf)} idf weights; the file is "
                "damaged"
            )

    @functools.cached_property
    def _word_columns(self) -> dict[str, list[int]]:
        return {}

    def _preprocess(self, text: str) -> str:
        text = text.lower() if self.lowercase else text
        return _strip_accents(text) if self.strip_accents else text

    def _columns(self, docs: Sequence[str]) -> tuple[list[int], list[int]]:
        """(row, column) of every known n-gram occurrence."""
        low, high = self.ngram_range
        rows: list[int] = []
        cols: list[int] = []
        vocabulary = self.vocabulary
        if self.analyzer == "word":
            pattern = re.compile(WORD_PATTERN)
            get = vocabulary.get
            for row, doc in enumerate(docs):
                tokens = pattern.findall(self._preprocess(doc))
                grams: list[str] = []
                for n in range(low, high + 1):  # the n-grams: n consecutive tokens joined by a space
                    shifted = (tokens[k : len(tokens) - n + 1 + k] for k in range(n))
                    grams.extend(tokens if n == 1 else map(" ".join, zip(*shifted, strict=True)))
                hits = [col for gram in grams if (col := get(gram)) is not None]
                rows.extend([row] * len(hits))
                cols.extend(hits)
            return rows, cols
        # a char_wb n-gram never crosses a word boundary: each distinct word is n-grammed once, and the
        # columns of the words seen last are kept between calls (the texts are redacted before they come)
        known = self._word_columns
        if len(known) > _KEPT_WORDS:
            known.clear()
        for row, doc in enumerate(docs):
            found: list[int] = []
            for word in self._preprocess(doc).split():
                columns = known.get(word)
                if columns is None:
                    grams = _char_wb_grams(word, low, high)
                    columns = known[word] = [c for g in grams if (c := vocabulary.get(g)) is not None]
                found += columns
            rows.extend([row] * len(found))
            cols.extend(found)
        return rows, cols

    def weights(self, docs: Sequence[str]) -> tuple[IntArray, IntArray, FloatArray]:
        """Row, column and TF-IDF weight of every term the texts hold, ordered by row, then column."""
        rows, cols = self._columns(docs)
        width = len(self.vocabulary)
        keys, counts = np.unique(
            np.asarray(rows, dtype=np.int64) * width + np.asarray(cols, dtype=np.int64), return_counts=True
        )
        row, col = np.divmod(keys, width)
        values = counts.astype(np.float64)
        if self.sublinear_tf:
            np.log(values, out=values)
            values += 1.0
        values *= self.idf[col]
        if self.l2_norm and len(values):
            norms = np.sqrt(np.bincount(row, weights=values**2, minlength=len(docs)))
            norms[norms == 0.0] = 1.0
            values /= norms[row]
        return row, col, values

    def transform(self, docs: Sequence[str]) -> sp.csr_matrix:
        """The TF-IDF rows of `docs` (one row per text, one column per vocabulary term)."""
        return _csr(len(docs), len(self.vocabulary), [self.weights(docs)])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the settings, the terms in column order and the idf weights."""
        terms = [""] * len(self.vocabulary)
        for term, col in self.vocabulary.items():
            terms[col] = term
        return {
            "analyzer": self.analyzer,
            "ngram_range": list(self.ngram_range),
            "lowercase": self.lowercase,
            "strip_accents": self.strip_accents,
            "sublinear_tf": self.sublinear_tf,
            "l2_norm": self.l2_norm,
            "terms": terms,
            "idf": array_to_json(self.idf),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str) -> NgramTfidf:
        """Read :meth:`to_dict`'s output."""
        low, high = (int(n) for n in data["ngram_range"])
        return cls(
            analyzer=str(data["analyzer"]),
            ngram_range=(low, high),
            vocabulary={str(term): col for col, term in enumerate(data["terms"])},
            idf=array_from_json(data["idf"], f"{where}: idf"),
            lowercase=bool(data["lowercase"]),
            strip_accents=bool(data["strip_accents"]),
            sublinear_tf=bool(data["sublinear_tf"]),
            l2_norm=bool(data["l2_norm"]),
        )

    def same_as(self, other: NgramTfidf) -> bool:
        """Whether the two turn every text into the same vector."""
        return self is other or (
            np.array_equal(self.idf, other.idf)
            and (self.analyzer, self.ngram_range, self.lowercase, self.strip_accents)
            == (other.analyzer, other.ngram_range, other.lowercase, other.strip_accents)
            and (self.sublinear_tf, self.l2_norm) == (other.sublinear_tf, other.l2_norm)
            and self.vocabulary == other.vocabulary
        )


@dataclass(frozen=True, eq=False)
class TextVectors:
    """The text's feature vector: its TF-IDF parts side by side (scikit-learn's ``FeatureUnion``)."""

    parts: tuple[NgramTfidf, ...]

    def transform(self, docs: Sequence[str]) -> sp.csr_matrix:
        """One row per text, the parts' columns one after the other."""
        found, offset = [], 0
        for part in self.parts:
            row, col, values = part.weights(docs)
            found.append((row, col + offset, values))
            offset += len(part.vocabulary)
        return _csr(len(docs), offset, found)

    def same_as(self, other: TextVectors) -> bool:
        """Whether the two turn every text into the same vector (then one computes both)."""
        return self is other or (
            len(self.parts) == len(other.parts)
            and all(a.same_as(b) for a, b in zip(self.parts, other.parts, strict=True))
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"parts": [part.to_dict() for part in self.parts]}

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str) -> TextVectors:
        """Read :meth:`to_dict`'s output."""
        return cls(tuple(NgramTfidf.from_dict(part, where) for part in data["parts"]))


@dataclass(frozen=True, eq=False)
class LinearTextModel:
    """A linear one-vs-rest logistic model over :class:`TextVectors`: the predict-only classifier.

    Attributes
    ----------
    vectors : TextVectors
        How a text becomes a vector.
    classes : tuple of str
        The labels, in the order of the probability columns.
    coef : array of shape (n_classes, n_features)
        One row per class (one row for two classes: the second class against the first).
    intercept : array of shape (n_classes,)
    """

    vectors: TextVectors
    classes: tuple[str, ...]
    coef: FloatArray
    intercept: FloatArray

    def __post_init__(self) -> None:
        width = sum(len(part.vocabulary) for part in self.vectors.parts)
        rows = 1 if len(self.classes) == 2 else len(self.classes)
        if self.coef.shape != (rows, width) or self.intercept.shape != (rows,):
            raise ConfigError(
                f"text model: coefficients of shape {self.coef.shape} and intercepts {self.intercept.shape} "
                f"do not fit {len(self.classes)} classes over {width} features; the file is damaged"
            )

    @functools.cached_property
    def _coef_by_feature(self) -> FloatArray:
        # one row per feature, contiguous: a sparse product with ``coef.T`` copied the whole matrix per call
        return np.ascontiguousarray(self.coef.T)

    def proba_of(self, vectors: sp.csr_matrix) -> FloatArray:
        """Class probabilities of texts already turned into vectors (see :attr:`vectors`).

        The sigmoid of each class's score, divided by their sum (scikit-learn's ``SGDClassifier`` with the
        logistic loss); two classes give ``[1 - p, p]``.
        """
        scores = np.asarray(vectors @ self._coef_by_feature, dtype=np.float64) + self.intercept
        proba = 1.0 / (1.0 + np.exp(-scores))
        if len(self.classes) == 2:
            return np.column_stack([1.0 - proba[:, 0], proba[:, 0]])
        total = proba.sum(axis=1)
        none = total == 0
        proba[none] = 1.0
        total[none] = proba.shape[1]
        return np.asarray(proba / total[:, None], dtype=np.float64)

    def predict_proba(self, docs: Sequence[str]) -> FloatArray:
        """Class probabilities, one row per text, columns in the order of :attr:`classes`."""
        if not docs:
            return np.empty((0, len(self.classes)), dtype=np.float64)
        return self.proba_of(self.vectors.transform(docs))

    @classmethod
    def from_pipeline(cls, pipeline: Any) -> LinearTextModel:
        """The predict-only form of a fitted ``Pipeline([("features", FeatureUnion of TfidfVectorizer),
        ("model", SGDClassifier(loss="log_loss"))])``.

        Raises
        ------
        ConfigError
            For any other pipeline (a setting this form does not reproduce), naming it.
        """
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import SGDClassifier
        from sklearn.pipeline import FeatureUnion

        features, model = pipeline.named_steps.get("features"), pipeline.steps[-1][1]
        if not isinstance(features, FeatureUnion) or len(pipeline.steps) != 2:
            raise ConfigError("text model: expected a pipeline of a FeatureUnion and a linear model")
        if not isinstance(model, SGDClassifier) or model.loss != "log_loss":
            raise ConfigError(f"text model: {model!r} is not an SGDClassifier with the logistic loss")
        parts = []
        for name, step in features.transformer_list:
            if features.transformer_weights or not isinstance(step, TfidfVectorizer):
                raise ConfigError(f"text model: part {name!r} is not an unweighted TfidfVectorizer")
            unsupported = {
                "analyzer": step.analyzer in ANALYZERS,
                "strip_accents": step.strip_accents in (None, "unicode"),
                "token_pattern": step.analyzer != "word" or step.token_pattern == WORD_PATTERN,
                "preprocessor/tokenizer/stop_words": step.preprocessor is None
                and step.tokenizer is None
                and step.stop_words is None,
                "binary": not step.binary,
                "use_idf": step.use_idf,
                "norm": step.norm in (None, "l2"),
            }
            bad = [setting for setting, ok in unsupported.items() if not ok]
            if bad:
                raise ConfigError(f"text model: part {name!r} uses settings not reproduced: {', '.join(bad)}")
            parts.append(
                NgramTfidf(
                    analyzer=str(step.analyzer),
                    ngram_range=(int(step.ngram_range[0]), int(step.ngram_range[1])),
                    vocabulary={str(k): int(v) for k, v in step.vocabulary_.items()},
                    idf=np.asarray(step.idf_, dtype=np.float64),
                    lowercase=bool(step.lowercase),
                    strip_accents=step.strip_accents == "unicode",
                    sublinear_tf=bool(step.sublinear_tf),
                    l2_norm=step.norm == "l2",
                )
            )
        return cls(
            vectors=TextVectors(tuple(parts)),
            classes=tuple(str(c) for c in model.classes_),
            coef=np.asarray(model.coef_, dtype=np.float64),
            intercept=np.asarray(model.intercept_, dtype=np.float64),
        )

    def to_dict(self, *, vectors: int | None = None) -> dict[str, Any]:
        """JSON-ready; with `vectors`, the index of a shared :class:`TextVectors` written elsewhere."""
        return {
            "kind": "linear_ovr_logistic",
            "classes": list(self.classes),
            "coef": array_to_json(self.coef),
            "intercept": array_to_json(self.intercept),
            "vectors": self.vectors.to_dict() if vectors is None else vectors,
        }

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], where: str, shared: Sequence[TextVectors] = ()
    ) -> LinearTextModel:
        """Read :meth:`to_dict`'s output (`shared`: the vectors an index refers to)."""
        if data.get("kind") != "linear_ovr_logistic":
            raise ConfigError(
                f"{where}: a text model of kind {data.get('kind')!r}; expected linear_ovr_logistic"
            )
        ref = data["vectors"]
        if isinstance(ref, int):
            if not 0 <= ref < len(shared):
                raise ConfigError(
                    f"{where}: refers to text vectors {ref}, of {len(shared)}; the file is damaged"
                )
            vectors = shared[ref]
        else:
            vectors = TextVectors.from_dict(ref, where)
        return cls(
            vectors=vectors,
            classes=tuple(str(c) for c in data["classes"]),
            coef=array_from_json(data["coef"], f"{where}: coef"),
            intercept=array_from_json(data["intercept"], f"{where}: intercept"),
        )
