"""Values every decision of a program shares (table rows, constant lists, results remembered across claims),
held so that no caller can change them: a decision handed out is data of its own, and editing it (turning its
amounts into floats for a chart, say) never changes the next decision. They are a dict and a list to everything
that reads them (JSON, comparison, the language), and copy.copy, deepcopy and pickle give them back unchanged."""
from __future__ import annotations

from typing import NoReturn


def _kind(value) -> str:
    return "dict" if isinstance(value, dict) else "list"


def _refuse(self, *args, **kwargs) -> NoReturn:
    raise TypeError(f"this {_kind(self)} is shared by every decision of the policy and cannot be "
                    f"changed: change a copy of it ({_kind(self)}(value))")


class _Shared:
    """Copies of a value no one can change are the value itself."""

    __slots__ = ()

    def __copy__(self):
        return self

    def __deepcopy__(self, memo: dict):
        return self


class FrozenDict(_Shared, dict):
    __slots__ = ()
    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self):
        return FrozenDict, (dict(self),)


class FrozenList(_Shared, list):
    __slots__ = ()
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse
    append = clear = extend = insert = pop = remove = reverse = sort = _refuse

    def __reduce__(self):
        return FrozenList, (list(self),)


def frozen(value):
    """`value` with every dict and list in it frozen (anything else as it is)."""
    kind = type(value)
    if kind is dict:
        return FrozenDict({k: frozen(v) for k, v in value.items()})
    if kind is list:
        return FrozenList([frozen(v) for v in value])
    return value
