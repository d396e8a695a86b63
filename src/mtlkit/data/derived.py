"""Derived tasks (``data.derived``): a new yes/no task whose label is computed from other tasks' labels.

``data.derived={stop: "pedestrian or stop_sign"}`` adds the task ``stop`` to any data set. An expression is one or
more operands joined by one operator, ``or`` or ``and`` (not both: define the inner part as its own derived task,
since derived tasks may use the ones named before them); an operand is a task name, or ``not NAME``.

Missing labels ("?") follow three-valued logic, so a derived label is known exactly when the known inputs decide it:

- ``a or b``: 1 if any known input is 1; 0 if every input is known and 0; "?" otherwise;
- ``a and b``: 0 if any known input is 0; 1 if every input is known and 1; "?" otherwise;
- ``not a``: 1 - a where a is known, "?" where it is not.

Derived labels are computed from the labels the data set provides, before ``data.tasks`` selects tasks and before
``data.missing_rate`` hides labels; a derived task is then a task like any other (hidden at its own rate).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from mtlkit.errors import ConfigError

OPERATORS = ("or", "and")
_HINT = 'e.g. data.derived={stop: "pedestrian or stop_sign"}'


@dataclass(frozen=True)
class DerivedTask:
    """One derived task: ``operator`` over ``inputs``, each negated where ``negated`` says."""

    name: str
    operator: str  # "or" or "and"
    inputs: tuple[str, ...]
    negated: tuple[bool, ...]

    def compute(self, y: torch.Tensor, mask: torch.Tensor, tasks: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Labels ``[N]`` (float) and mask ``[N]`` (bool) of this task from ``y``/``mask`` ``[N, T]`` over ``tasks``."""
        unknown = [t for t in self.inputs if t not in tasks]
        if unknown:
            raise ConfigError(
                f"data.derived.{self.name} uses unknown task(s) {unknown}; this data set has {list(tasks)}"
            )
        cols = [list(tasks).index(t) for t in self.inputs]
        known = mask[:, cols]
        one = y[:, cols] > 0.5
        one = torch.where(torch.tensor(self.negated), ~one, one)
        is_one, is_zero = known & one, known & ~one
        if self.operator == "or":
            label, decided = is_one.any(1), is_one.any(1) | is_zero.all(1)
        else:
            label, decided = is_one.all(1), is_zero.any(1) | is_one.all(1)
        return (label & decided).float(), decided

    def probability(self, probs: torch.Tensor, tasks: Sequence[str]) -> torch.Tensor:
        """``[N]``: this task's probability from the inputs' probabilities ``[N, T]`` over ``tasks``, the inputs
        taken as independent (OR: ``1 - prod(1 - p)``, the noisy-OR; AND: ``prod(p)``; NOT: ``1 - p``). On 0/1
        inputs it equals :meth:`compute`'s label: the rule of a pipeline applied to a model's outputs."""
        unknown = [t for t in self.inputs if t not in tasks]
        if unknown:
            raise ConfigError(
                f"derived task {self.name} uses task(s) {unknown} the model does not predict: {list(tasks)}"
            )
        p = probs[:, [list(tasks).index(t) for t in self.inputs]].double()
        p = torch.where(torch.tensor(self.negated), 1.0 - p, p)
        out = 1.0 - (1.0 - p).prod(1) if self.operator == "or" else p.prod(1)
        return out.to(probs.dtype)


def parse_derived(derived: Mapping[str, str] | None) -> list[DerivedTask]:
    """The ``data.derived`` mapping as :class:`DerivedTask` rules, in order; a one-line ConfigError if malformed."""
    if derived is None:
        return []
    if not isinstance(derived, Mapping):
        raise ConfigError(f"data.derived must map new task names to expressions ({_HINT}), got {derived!r}")
    return [_parse_one(str(name), expr) for name, expr in derived.items()]


def _parse_one(name: str, expr: object) -> DerivedTask:
    where = f"data.derived.{name}"
    if not name.strip():
        raise ConfigError(f"data.derived has an empty task name; {_HINT}")
    if not isinstance(expr, str) or not expr.strip():
        raise ConfigError(f"{where} must be an expression such as 'a or b', got {expr!r}")
    if "(" in expr or ")" in expr:
        raise ConfigError(f"{where}: parentheses are not supported in {expr!r}; define the inner part as its own task")
    tokens = expr.split()
    inputs: list[str] = []
    negated: list[bool] = []
    ops: set[str] = set()
    expect_operand = True
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if expect_operand:
            neg = tok == "not"
            if neg:
                i += 1
                if i == len(tokens):
                    raise ConfigError(f"{where}: 'not' needs a task name after it in {expr!r}")
                tok = tokens[i]
            if tok in OPERATORS or tok == "not":
                raise ConfigError(f"{where}: expected a task name, got {tok!r} in {expr!r}")
            inputs.append(tok)
            negated.append(neg)
        else:
            if tok not in OPERATORS:
                raise ConfigError(f"{where}: expected 'or' or 'and' between task names, got {tok!r} in {expr!r}")
            ops.add(tok)
        expect_operand = not expect_operand
        i += 1
    if expect_operand:
        raise ConfigError(f"{where}: {expr!r} ends with an operator; add a task name after it")
    if len(ops) > 1:
        raise ConfigError(
            f"{where}: {expr!r} mixes 'or' and 'and'; define one part as its own derived task and use its name"
        )
    return DerivedTask(name, ops.pop() if ops else "or", tuple(inputs), tuple(negated))
