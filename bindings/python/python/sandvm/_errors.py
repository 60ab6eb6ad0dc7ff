"""The exceptions of :mod:`sandvm`: one base class with the error kind of the JSON contract."""

from __future__ import annotations

import builtins
from typing import Optional


class SandboxError(Exception):
    """A run failed, or the sandbox refused something.

    ``kind`` is the stable error kind of the JSON contract (``sandvm run --json``):
    ``syntax``, ``exception``, ``timeout``, ``memory_limit``, ``stack_overflow``,
    ``output_limit``, ``job_limit``, ``cancelled``, ``unsettled``,
    ``cached_data_rejected``, ``host``, ``module_not_found``, ``module_not_allowed``; the
    pool adds ``quota_exceeded``, ``busy``, ``unknown_tenant``, ``saturated`` and others.
    """

    def __init__(
        self,
        message: str,
        *,
        kind: str = "host",
        name: Optional[str] = None,
        stack: Optional[str] = None,
        line: Optional[int] = None,
        column: Optional[int] = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.name = name
        self.message = message
        self.stack = stack
        self.line = line
        self.column = column

    def __reduce__(self):  # picklable across processes
        return (_rebuild, (type(self), self.message, self.kind, self.name, self.stack, self.line, self.column))


def _rebuild(cls, message, kind, name, stack, line, column):
    return cls(message, kind=kind, name=name, stack=stack, line=line, column=column)


class TimeoutError(SandboxError, builtins.TimeoutError):
    """The run went past its time limit (``kind == "timeout"``). Also a builtin ``TimeoutError``."""


class MemoryLimitError(SandboxError):
    """The guest's heap reached the memory limit (``kind == "memory_limit"``)."""


class StackOverflowError(SandboxError):
    """The guest's recursion overflowed its stack limit (``kind == "stack_overflow"``)."""


class OutputLimitError(SandboxError):
    """Console output plus the completion value went past the output limit (``kind == "output_limit"``)."""


class GuestSyntaxError(SandboxError):
    """The guest's source does not parse (``kind == "syntax"``); ``line`` and ``column`` say where."""


class GuestError(SandboxError):
    """The guest threw an exception it did not catch (``kind == "exception"``).

    ``name`` is the JavaScript error name (``TypeError`` ...; ``None`` for a thrown non-Error),
    ``message`` its message, ``stack`` the guest stack trace, ``line``/``column`` where it was thrown.
    """
