"""A mapping restored value by value from the compiled data cache.

``Resources`` holds a rule set and a gazetteer index for every language, but a process
usually meets one or two languages in its first articles. ``PerKey`` pickles each
value on its own, so loading the cache restores only bytes, and a language's rules are
unpickled the first time they are asked for. Used the same way before and after a
round trip through pickle: a read-only ``Mapping``.
"""

from __future__ import annotations

import gc
import pickle
from collections.abc import Iterator, Mapping
from typing import Any, Generic, TypeVar

V = TypeVar("V")


def unpickle(blob: bytes) -> Any:
    """``pickle.loads`` with the cyclic garbage collector paused: restoring tens of
    thousands of objects otherwise sets off collections that walk everything loaded so
    far (several times the cost of the load itself)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return pickle.loads(blob)  # noqa: S301 - our own cache, keyed by content
    finally:
        if enabled:
            gc.enable()


class PerKey(Mapping[str, V], Generic[V]):
    """A read-only mapping whose values are unpickled on first access after loading."""

    __slots__ = ("_keys", "_values", "_blobs")

    def __init__(
        self, values: Mapping[str, V] | None = None, blobs: Mapping[str, bytes] | None = None
    ) -> None:
        self._values: dict[str, V] = dict(values or {})
        self._blobs: dict[str, bytes] = dict(blobs or {})
        self._keys: tuple[str, ...] = (
            *self._values,
            *(k for k in self._blobs if k not in self._values),
        )

    def __getitem__(self, key: str) -> V:
        try:
            return self._values[key]
        except KeyError:
            pass
        blob = self._blobs.get(key)
        if blob is None:
            return self._values[key]  # restored meanwhile by another thread, or KeyError
        value: V = unpickle(blob)
        value = self._values.setdefault(key, value)
        self._blobs.pop(key, None)
        return value

    def __contains__(self, key: object) -> bool:
        return key in self._values or key in self._blobs

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"PerKey({list(self._keys)!r})"

    def __reduce__(self) -> tuple[object, tuple[None, dict[str, bytes]]]:
        blobs = {
            key: self._blobs[key]
            if key in self._blobs and key not in self._values
            else pickle.dumps(self._values[key], protocol=pickle.HIGHEST_PROTOCOL)
            for key in self._keys
        }
        return (PerKey, (None, blobs))
