"""Typed configuration files: YAML read into pydantic models, every error with its file, line and field.

Users edit routing, hard rules, points tables and CRM mappings by hand, so a mistake must say where it is.
:func:`load_config` parses the YAML (libyaml's safe loader where PyYAML has it), remembers the line of every
mapping key and list item, validates the data with a pydantic model and turns each validation error into
one line ``FILE:LINE: path.to.field: what is wrong``. Duplicate keys in one mapping are errors too (YAML
itself would keep the last one silently).

Examples
--------
>>> from pydantic import BaseModel
>>> class Table(BaseModel):
...     name: str
...     half_life_days: float
>>> load_config("name: x\\nhalf_life_days: [14]\\n", Table, source="points.yaml")
Traceback (most recent call last):
...
careleads.errors.ConfigError: points.yaml:2: half_life_days: Input should be a valid number
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from careleads.errors import ConfigError

__all__ = [
    "ConfigLines",
    "format_errors",
    "load_config",
    "mapping_or_error",
    "parse_yaml_lines",
    "read_config_text",
    "validate_config",
]

Model = TypeVar("Model", bound=BaseModel)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ConfigLines:
    """The line (1-based) of each mapping key and list item of a parsed YAML document, by its path."""

    def __init__(self) -> None:
        self._lines: dict[tuple[Any, ...], int] = {}

    def add(self, path: tuple[Any, ...], line: int) -> None:
        self._lines.setdefault(path, line)

    def line(self, path: tuple[Any, ...]) -> int | None:
        """The line of `path`, or of its nearest enclosing key or item that has one."""
        for end in range(len(path), -1, -1):
            found = self._lines.get(tuple(path[:end]))
            if found is not None:
                return found
        return None


def parse_yaml_lines(text: str, *, source: str) -> tuple[Any, ConfigLines]:
    """Parse YAML text into plain data and the lines of its keys and items.

    Raises
    ------
    ConfigError
        On a syntax error (with its line and column) or a key repeated within one mapping.
    """
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        at = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        raise ConfigError(f"{source}{at}: not valid YAML: {exc.problem}; fix the syntax there") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {exc}") from None
    lines = ConfigLines()
    if node is None:
        return None, lines
    constructor = _LOADER(text)  # resolves scalars exactly as yaml.safe_load would
    try:
        data = _build(node, (), lines, constructor, source)
    finally:
        constructor.dispose()
    return data, lines


def _build(node: yaml.Node, path: tuple[Any, ...], lines: ConfigLines, constructor: Any, source: str) -> Any:
    lines.add(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Hashable, Any] = {}
        for key_node, value_node in node.value:
            key = constructor.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                raise ConfigError(f"{source}:{key_node.start_mark.line + 1}: a key must be a plain value")
            if key in out:
                raise ConfigError(
                    f"{source}:{key_node.start_mark.line + 1}: {_dotted((*path, key))}: the key appears "
                    "twice in one mapping; keep one"
                )
            lines.add((*path, key), key_node.start_mark.line + 1)
            out[key] = _build(value_node, (*path, key), lines, constructor, source)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), lines, constructor, source) for i, item in enumerate(node.value)]
    return constructor.construct_object(node, deep=True)


def load_config(text: str, model: type[Model], *, source: str) -> Model:
    """Parse YAML `text` and validate it as `model`.

    Parameters
    ----------
    text : str
        The file's contents.
    model : type of pydantic BaseModel
        What the file must hold.
    source : str
        The file's name in messages (a path, or ``careleads/data/routing.yaml`` for a shipped file).

    Raises
    ------
    ConfigError
        Listing every problem, one per line, as ``SOURCE:LINE: path.to.field: message``.
    """
    data, lines = parse_yaml_lines(text, source=source)
    return validate_config(data, model, source=source, lines=lines)


def validate_config(data: Any, model: type[Model], *, source: str, lines: ConfigLines | None = None) -> Model:
    """Validate already parsed data as `model`, with the error format of :func:`load_config`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            format_errors(exc, source=source, lines=lines or ConfigLines(), data=data)
        ) from None


def format_errors(exc: ValidationError, *, source: str, lines: ConfigLines, data: Any = None) -> str:
    """One line per validation error: ``SOURCE:LINE: path.to.field: message`` (the line where known).

    With the validated `data`, the path keeps only the keys and positions found in it: pydantic adds the
    member of a union it tried (``float``, ``dict[str,float]``) and ``[key]``, which mean nothing to a user.
    """
    out = []
    seen: set[str] = set()
    for error in exc.errors(include_url=False):
        location = tuple(error["loc"])
        line = lines.line(_in_data(location, data) if data is not None else location)
        if data is not None:
            # a missing key is not in the data, but it is what the user must add
            missing = error["type"] == "missing" and location
            location = _in_data(location, data) + ((location[-1],) if missing else ())
        at = f"{source}:{line}" if line is not None else source
        field = _dotted(location)
        message = str(error["msg"]).removeprefix("Value error, ")
        text = f"{at}: {field}: {message}" if field else f"{at}: {message}"
        if text not in seen:
            seen.add(text)
            out.append(text)
    return "\n".join(out)


def _in_data(location: tuple[Any, ...], data: Any) -> tuple[Any, ...]:
    """The parts of a pydantic error location that are keys or positions of `data`, in order."""
    kept: list[Any] = []
    node = data
    for part in location:
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            continue
        kept.append(part)
    return tuple(kept)


def _dotted(path: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for part in path:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(("." if parts else "") + str(part))
    return "".join(parts)


def read_config_text(path: str | Path | None, *, shipped: str) -> tuple[str, str]:
    """The text of a configuration file and its name for messages; None reads the shipped file `shipped`
    (a name under ``careleads/data``).

    Raises
    ------
    ConfigError
        When the file cannot be read.
    """
    if path is None:
        from importlib import resources

        text = resources.files("careleads").joinpath(f"data/{shipped}").read_text(encoding="utf-8")
        return text, f"careleads/data/{shipped}"
    try:
        return Path(path).read_text(encoding="utf-8"), str(path)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}; check the path") from None


def mapping_or_error(data: Any, *, source: str, expected: str) -> Mapping[str, Any]:
    """`data` when it is a mapping, else a ConfigError saying what the file should hold."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: expected {expected}")
    return data
