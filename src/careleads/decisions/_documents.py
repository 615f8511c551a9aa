"""YAML configuration documents (routing, hard rules): reading, typed validation and the one error format.

A document is validated by pydantic models (:class:`Document` and its subclasses in ``_routing_file`` and
``_rules_file``). Every problem becomes one line of text, the same for both files::

    routing.yaml: route 'call', key 'channels': 'fax' is not one of ['phone', 'email', 'sms'] (line 31)

the file, where in it (the entry and key, in the words of the file's own format) and what is wrong, with the
line of the file when the text is known (a file being loaded or text being edited; not a document already
parsed). A YAML syntax error names the line and column instead. Every problem of a document is reported at
once, so an editor can show them all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, NoReturn

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from careleads.errors import ConfigError
from careleads.types import PathLikeStr

#: where a problem is in a document: mapping keys and list positions from its root
Location = tuple[str | int, ...]
#: a problem of a document: where and what (in plain words)
Problem = tuple[Location, str]
_CUSTOM = "careleads"
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml_text(path: PathLikeStr | None, shipped: str) -> tuple[str, str]:
    """The text of a YAML file and its name for messages (the shipped file when `path` is None)."""
    if path is None:
        package, _, name = shipped.partition("/")
        return resources.files(package).joinpath(name).read_text(encoding="utf-8"), shipped
    where = str(path)
    try:
        return Path(path).read_text(encoding="utf-8"), where
    except OSError as exc:
        raise ConfigError(f"cannot read {where}: {exc.strerror}; check the path") from None


def parse_yaml(text: str, where: str) -> Any:
    """Parse YAML text; a syntax error becomes a ConfigError with the file, line and column.

    With libyaml's safe loader where PyYAML has it: the pure-Python one took about 30 ms for the shipped
    routing and hard rules, once in every batch worker.
    """
    try:
        return yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        at = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ConfigError(f"{where}:{at} is not valid YAML: {exc.problem}; fix the syntax there") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where} is not valid YAML: {exc}") from None


def _compose(text: str) -> yaml.Node | None:
    try:
        node: yaml.Node | None = yaml.compose(text, Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError:
        return None
    return node


def line_of(node: yaml.Node | None, location: Location) -> int | None:
    """The line (from 1) of a composed document that holds `location`: the key named last, or the nearest
    entry found on the way."""
    if node is None:
        return None
    line: int = node.start_mark.line + 1
    for part in location:
        if isinstance(node, yaml.MappingNode):
            found = [(k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == str(part)]
            if not found:
                break
            key, node = found[0]
            line = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def format_problems(
    problems: Sequence[Problem], where: str, place: Callable[[Location], str], text: str | None = None
) -> list[str]:
    """Each problem as one line: ``FILE: PLACE: MESSAGE (line N)`` (no line when `text` is not known).

    Parameters
    ----------
    problems : sequence of (location, message)
        What is wrong and where.
    where : str
        The file's name.
    place : callable
        Names a location in the words of the file's format (``route 'call', key 'channels'``).
    text : str, optional
        The document's text, for line numbers.
    """
    out = []
    node = _compose(text) if text is not None and problems else None
    for location, message in problems:
        at = place(location)
        line = line_of(node, location)
        out.append(f"{where}: {at + ': ' if at else ''}{message}{f' (line {line})' if line else ''}")
    return out


def fail(*problems: Problem) -> NoReturn:
    """Raise the problems from inside a model's validator (pydantic places them under the model's own
    location)."""
    raise ValidationError.from_exception_data(
        "document",
        [
            InitErrorDetails(
                type=PydanticCustomError(_CUSTOM, "{message}", {"message": m}), loc=loc, input=None
            )
            for loc, m in problems
        ],
    )


def problems_of(exc: ValidationError) -> list[Problem]:
    """The problems of a failed validation, in the document's order."""
    return [(tuple(e["loc"]), e["msg"]) for e in exc.errors()]


def text_keys(value: Any) -> Any:
    """A mapping's keys as text (YAML reads ``1:`` as a number); anything else unchanged."""
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    return value


class Document(BaseModel):
    """A part of a configuration document: its known keys, and its problems in the one format.

    Subclasses say in plain words what each key expects (`expected`, used when a value is of the wrong kind
    or missing) and how to name an unknown key (`unknown`). Validators raise problems with :func:`fail`.
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
        if error["type"] == _CUSTOM:
            return str(error["msg"])
        key = error["loc"][0] if error["loc"] else None
        expected = cls.expected.get(str(key)) if key is not None else None
        if expected is None:
            return str(error["msg"])
        if error["type"] == "missing":
            return expected
        return f"{expected}, got {error['input']!r}"


def validated(
    model: type[Document],
    data: Any,
    where: str,
    place: Callable[[Location], str],
    text: str | None,
    check: Callable[[Any, Document | None], list[Problem]] | None = None,
) -> tuple[Any, list[str]]:
    """Validate a document: the model (None when invalid) and every problem, formatted.

    `check(data, document)` adds the problems between parts of the document (references from one part to
    another); it gets the raw data always, and the validated document when there is one.
    """
    document: Document | None = None
    problems: list[Problem] = []
    try:
        document = model.model_validate(data)
    except ValidationError as exc:
        problems = problems_of(exc)
    if check is not None:
        problems.extend(check(data, document))
    if problems:
        return None, format_problems(problems, where, place, text)
    return document, []
