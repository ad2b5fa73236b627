"""YAML for data files written by people: safe, and YAML 1.2 booleans only.

PyYAML follows YAML 1.1, where ``NO`` (Norway) and ``on``/``off``/``yes`` load as
booleans. Data files here are full of ISO codes, so only ``true``/``false`` are
booleans.
"""

from __future__ import annotations

import re

import yaml


class DataLoader(yaml.SafeLoader):
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
