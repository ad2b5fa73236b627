"""YAML for data files written by people: safe, and YAML 1.2 booleans only.

PyYAML follows YAML 1.1, where ``NO`` (Norway) and ``on``/``off``/``yes`` load as
booleans. Data files here are full of ISO codes, so only ``true``/``false`` are
booleans.
"""

from __future__ import annotations

import re
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from yaml import YAMLError as YAMLError

M = TypeVar("M", bound=BaseModel)


class DataLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """A SafeLoader whose booleans are only true/false (any case)."""


DataLoader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
DataLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load(text: str) -> object:
    return yaml.load(text, Loader=DataLoader)  # noqa: S506 - DataLoader is a SafeLoader


def load_list_file(
    text: str,
    source: str,
    model: type[M],
    key: str,
    kind: str,
    name_keys: tuple[str, ...],
    error: type[Exception],
    strip_value_error: bool = False,
) -> M:
    """Parse a people-written file holding a ``key:`` list into ``model``.

    Every problem is reported with the file (``source``), the entry (``kind`` and
    its number, plus its first non-empty ``name_keys`` value) and the field, all at
    once, as one ``error``.
    """
    try:
        data = load(text)
    except yaml.YAMLError as exc:
        raise error(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise error(f"{source}: expected a mapping with a '{key}:' list")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = list(err["loc"])
            where = ""
            if len(loc) >= 2 and loc[0] == key and isinstance(loc[1], int):
                raw = data.get(key) or []
                idx = loc[1]
                item = raw[idx] if idx < len(raw) and isinstance(raw[idx], dict) else {}
                name = next((item.get(k) for k in name_keys if item.get(k)), None)
                where = f"{kind} {idx + 1}" + (f" ({name!r})" if name else "")
                loc = loc[2:]
            field = ".".join(str(x) for x in loc) or f"({kind})"
            msg = str(err["msg"])
            if strip_value_error:
                msg = msg.removeprefix("Value error, ")
            problems.append(f"{source}: {where}{': ' if where else ''}field {field}: {msg}")
        raise error("\n".join(problems)) from exc
