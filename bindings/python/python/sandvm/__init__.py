"""sandvm: run untrusted JavaScript from Python, with hard limits.

>>> import sandvm
>>> sandvm.run("[1, 2, 3].map(x => x * 2)")
[2, 4, 6]

Every run is bounded in time (promise jobs included), memory, stack and output; the guest has
no file system, network, process or module access unless granted. Values are copied in and
out, never shared. JavaScript runs on a guest thread while the GIL is released.
"""

from ._errors import (
    GuestError,
    GuestSyntaxError,
    MemoryLimitError,
    OutputLimitError,
    SandboxError,
    StackOverflowError,
    TimeoutError,
)
from ._sandvm import Pool, Report, Sandbox, Script, __version__, execute, run
from . import tools

__all__ = [
    "run",
    "execute",
    "Sandbox",
    "Script",
    "Report",
    "Pool",
    "SandboxError",
    "TimeoutError",
    "MemoryLimitError",
    "StackOverflowError",
    "OutputLimitError",
    "GuestSyntaxError",
    "GuestError",
    "tools",
    "__version__",
]
