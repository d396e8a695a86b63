"""What a config value may be: small, declarative rules (an integer in a range, a number, a flag, one of a few
words), each able to say what it accepts in words, so that one error line names key, value and accepted range.

A rule checks only the value's type and range; whether values fit together (a task list against the data set, a
checkpoint against the model) is left to the code that uses them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig, ListConfig


def _show(value: Any) -> str:
    if value is None:
        return "null (empty)"
    if isinstance(value, str):
        return repr(value) if value else "'' (empty)"
    return repr(value)


def _bound(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


@dataclass(frozen=True)
class Rule:
    """One key's accepted values.

    ``kind``: ``int``, ``float`` (ints accepted too), ``bool``, ``str`` or ``choice``. ``min``/``max`` bound numbers
    (``min_open``/``max_open``: strictly). ``choices``: the words (or values) of a ``choice``. ``also``: single values
    accepted besides (e.g. ``-1`` or ``"auto"``). ``null``: null is accepted. ``passes``: value types left to the
    code (e.g. a per-task list or dict of rates, checked where it is used). ``note``: shown after the range.
    """

    kind: str
    min: float | None = None
    max: float | None = None
    min_open: bool = False
    max_open: bool = False
    choices: tuple[Any, ...] = ()
    also: tuple[Any, ...] = ()
    null: bool = False
    passes: tuple[type, ...] = ()
    note: str = ""
    custom: Callable[[Any], bool] | None = field(default=None, compare=False)
    description: str = ""

    # -- checking ------------------------------------------------------------------------------------------------
    def accepts(self, value: Any) -> bool:
        if value is None:
            return self.null
        if self.passes and isinstance(value, self.passes):
            return True
        if any(value == a and type(value) is type(a) for a in self.also):
            return True
        if self.custom is not None:
            return self.custom(value)
        if self.kind == "bool":
            return isinstance(value, bool)
        if self.kind == "str":
            return isinstance(value, str) and value != ""
        if self.kind == "choice":
            return any(value == c and type(value) is type(c) for c in self.choices)
        if self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                return False
        elif self.kind == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
                return False
        else:  # pragma: no cover - a mistake in the table itself
            raise ValueError(f"unknown rule kind {self.kind!r}")
        if self.min is not None and (value < self.min or (self.min_open and value == self.min)):
            return False
        return not (self.max is not None and (value > self.max or (self.max_open and value == self.max)))

    # -- describing ----------------------------------------------------------------------------------------------
    def describe(self) -> str:
        """What this rule accepts, in words: ``an integer >= 1``, ``a number in [0, 1)``, ``one of: a, b``."""
        if self.description:
            text = self.description
        elif self.kind == "bool":
            text = "true or false"
        elif self.kind == "str":
            text = "a non-empty text"
        elif self.kind == "choice":
            text = "one of: " + ", ".join(str(c) for c in self.choices)
        else:
            text = ("an integer" if self.kind == "int" else "a number") + self._range()
        extra = [repr(a) if isinstance(a, str) else str(a) for a in self.also]
        if self.null:
            extra.append("null")
        if extra:
            text += ", or " + " or ".join(extra)
        if self.passes:
            names = {list: "a list", tuple: "a list", ListConfig: "a list", dict: "a mapping", DictConfig: "a mapping"}
            kinds = sorted({names.get(t, t.__name__) for t in self.passes})
            text += ", or " + " or ".join(kinds)
        if self.note:
            text += f" ({self.note})"
        return text

    def _range(self) -> str:
        lo, hi = self.min, self.max
        if lo is not None and hi is not None:
            return f" in {'(' if self.min_open else '['}{_bound(lo)}, {_bound(hi)}{')' if self.max_open else ']'}"
        if lo is not None:
            return f" {'>' if self.min_open else '>='} {_bound(lo)}"
        if hi is not None:
            return f" {'<' if self.max_open else '<='} {_bound(hi)}"
        return ""

    def error(self, key: str, value: Any) -> str | None:
        """One line naming key, value and what is accepted, or None when ``value`` is accepted."""
        if self.accepts(value):
            return None
        return f"{key}={_show(value)}: expected {self.describe()}"


# -- constructors, so that the table reads like a schema --------------------------------------------------------
def integer(
    min: float | None = None,
    max: float | None = None,
    *,
    null: bool = False,
    also: Sequence[Any] = (),
    passes: Sequence[type] = (),
    note: str = "",
) -> Rule:
    return Rule("int", min=min, max=max, null=null, also=tuple(also), passes=tuple(passes), note=note)


def number(
    min: float | None = None,
    max: float | None = None,
    *,
    min_open: bool = False,
    max_open: bool = False,
    null: bool = False,
    also: Sequence[Any] = (),
    passes: Sequence[type] = (),
    note: str = "",
) -> Rule:
    return Rule(
        "float",
        min=min,
        max=max,
        min_open=min_open,
        max_open=max_open,
        null=null,
        also=tuple(also),
        passes=tuple(passes),
        note=note,
    )


def flag(*, null: bool = False, also: Sequence[Any] = (), note: str = "") -> Rule:
    return Rule("bool", null=null, also=tuple(also), note=note)


def text(*, null: bool = False, note: str = "") -> Rule:
    return Rule("str", null=null, note=note)


def one_of(*choices: Any, null: bool = False, note: str = "") -> Rule:
    return Rule("choice", choices=tuple(choices), null=null, note=note)


def either(description: str, accepts: Callable[[Any], bool], *, null: bool = False) -> Rule:
    """A rule for values that the constructors above cannot say (several forms): ``accepts`` decides,
    ``description`` says what is accepted."""
    return Rule("choice", null=null, custom=accepts, description=description)


LISTS = (list, tuple, ListConfig)
MAPPINGS = (dict, DictConfig)
