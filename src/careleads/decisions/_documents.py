"""The routing and hard-rules files as typed documents: pydantic models whose problems read in plain words.

Files are read, and their problems written, by :mod:`careleads.config`, as for every hand-edited configuration
file: one line per problem, ``FILE:LINE: path.to.field: message``. What the two decision files share is
here: a base model (:class:`Document`) that says what a key expects and names unknown keys, and
:func:`validated`, which reports the problems between parts of a file (a rule naming a route the file lacks)
together with those of the parts, so an editor shows them all at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, NoReturn, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from careleads.config import ConfigLines, format_errors

#: where a problem is in a document: mapping keys and list positions from its root
Location = tuple[str | int, ...]
#: a problem of a document: where and what (in plain words)
Problem = tuple[Location, str]
Doc = TypeVar("Doc", bound="Document")
_PROBLEM = "careleads"


def _error(problems: Sequence[Problem]) -> ValidationError:
    return ValidationError.from_exception_data(
        "document",
        [
            InitErrorDetails(
                type=PydanticCustomError(_PROBLEM, "{message}", {"message": m}), loc=loc, input=None
            )
            for loc, m in problems
        ],
    )


def fail(*problems: Problem) -> NoReturn:
    """Raise problems from inside a model's validator (pydantic places them under the model's location)."""
    raise _error(problems)


def messages(problems: Sequence[Problem], *, source: str, lines: ConfigLines | None = None) -> list[str]:
    """Each problem as one line, ``FILE:LINE: path.to.field: message`` (no line when `lines` is None)."""
    if not problems:
        return []
    return format_errors(_error(problems), source=source, lines=lines or ConfigLines()).split("\n")


def text_keys(value: Any) -> Any:
    """A mapping's keys as text (YAML reads ``1:`` as a number); anything else unchanged."""
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    return value


class Document(BaseModel):
    """A part of a configuration document, whose problems say what each key expects.

    Subclasses say in plain words what a key expects (`expected`: the message when its value is of the wrong
    kind or missing) and how to name an unknown key (`unknown`). Validators raise problems with :func:`fail`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: key -> what it expects, for messages ("every route needs a queue name")
    expected: ClassVar[Mapping[str, str]] = {}
    #: the message for an unknown key; ``{allowed}`` is the list of known keys
    unknown: ClassVar[str] = "unknown key; allowed: {allowed}"
    #: the message when the part is not a mapping
    not_a_mapping: ClassVar[str] = "expected a mapping"

    @classmethod
    def keys(cls) -> list[str]:
        """The keys a document part may hold, as written in the file."""
        return [info.alias or name for name, info in cls.model_fields.items()]

    @model_validator(mode="wrap")
    @classmethod
    def _problems(cls, data: Any, handler: Callable[[Any], Any]) -> Any:
        if isinstance(data, cls):
            return data
        if not isinstance(data, Mapping):
            fail(((), f"{cls.not_a_mapping}, got {data!r}"))
        allowed = cls.keys()
        problems: list[Problem] = [
            ((str(k),), cls.unknown.format(allowed=sorted(allowed))) for k in data if k not in allowed
        ]
        result = None
        try:
            result = handler({k: v for k, v in data.items() if k in allowed})
        except ValidationError as exc:
            found = [(tuple(e["loc"]), cls._message(e)) for e in exc.errors()]
            # with a key misspelt, what the part as a whole lacks follows from it: name the key alone
            problems.extend(p for p in found if p[0] or not problems)
        if problems:
            fail(*problems)
        return result

    @classmethod
    def _message(cls, error: Any) -> str:
        """A pydantic error in the words of this part of the document (nested parts have done their own)."""
        if error["type"] == _PROBLEM:
            return str(error["msg"])
        key = error["loc"][0] if error["loc"] else None
        expected = cls.expected.get(str(key)) if key is not None else None
        if expected is None:
            return str(error["msg"])
        if error["type"] == "missing":
            return expected
        return f"{expected}, got {error['input']!r}"


def validated(
    model: type[Doc],
    data: Any,
    *,
    source: str,
    lines: ConfigLines | None = None,
    check: Callable[[Any], list[Problem]] | None = None,
) -> tuple[Doc | None, list[str]]:
    """Validate a parsed document: the model (None when invalid) and every problem, one line each.

    `check(data)` adds the problems between parts of the document (references from one part to another); it
    reads the raw data, so that they are reported with the problems of the parts, valid or not.
    """
    document: Doc | None = None
    problems: list[Problem] = []
    try:
        document = model.model_validate(data)
    except ValidationError as exc:
        problems = [(tuple(e["loc"]), str(e["msg"])) for e in exc.errors()]
    if check is not None:
        problems.extend(check(data))
    return (None if problems else document), messages(problems, source=source, lines=lines)
