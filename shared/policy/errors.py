"""The one error a policy file raises: ``PolicyError``, listing every problem with its line."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PolicyError", "PolicyProblem"]


@dataclass(frozen=True, slots=True)
class PolicyProblem:
    """One thing wrong with a policy.

    ``source`` is the file name shown to the user, ``line`` the 1-based line the problem is
    on (``None`` when it is about the whole file), ``path`` the dotted location in the
    document (``rules[2].playbook``; empty for the document itself).
    """

    source: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line is not None else self.source
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class PolicyError(ValueError):
    """A policy could not be loaded. ``problems`` lists every problem found, in file order.

    ``str(error)`` is one line per problem, e.g.
    ``policy.yaml:12: rules[2].playbook: 'quarantine' is not a defined playbook (defined: notify)``.
    """

    def __init__(self, problems: list[PolicyProblem]) -> None:
        if not problems:
            raise ValueError("PolicyError needs at least one problem")
        self.problems = sorted(problems, key=lambda p: (p.line is not None, p.line or 0))
        super().__init__("\n".join(str(p) for p in self.problems))
