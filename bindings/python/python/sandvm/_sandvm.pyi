"""Type stubs of the native module ``sandvm._sandvm`` (re-exported by ``sandvm``)."""

from typing import Any, Awaitable, Callable, Dict, Iterable, List, Mapping, Optional, Union

__version__: str

JSONValue = Any
Deterministic = Union[bool, int, None]

def run(
    code: str,
    *,
    globals: Optional[Mapping[str, Any]] = None,
    timeout: Optional[float] = 1.0,
    memory_mb: float = 64,
    capabilities: Optional[Iterable[str]] = (),
    freeze: bool = False,
    deterministic: Deterministic = False,
) -> JSONValue:
    """Runs ``code`` in a fresh sandbox and returns its completion value; raises ``SandboxError``."""

def execute(
    code: str,
    *,
    globals: Optional[Mapping[str, Any]] = None,
    timeout: Optional[float] = 1.0,
    memory_mb: float = 64,
    capabilities: Optional[Iterable[str]] = (),
    freeze: bool = False,
    deterministic: Deterministic = False,
) -> "Report":
    """Runs ``code`` in a fresh sandbox and returns its ``Report``; never raises for guest errors."""

class Report:
    """One run's result, the contract of ``sandvm run --json``."""

    status: str
    value: JSONValue
    display: str
    error: Optional[Dict[str, Any]]
    console: List[Dict[str, str]]
    stats: Dict[str, float]
    @property
    def ok(self) -> bool: ...
    def to_dict(self) -> Dict[str, Any]: ...

class Script:
    """A script compiled once, runnable in any sandbox."""

    @property
    def cached_data(self) -> bytes: ...
    @property
    def filename(self) -> str: ...
    def run(self, sandbox: "Sandbox") -> JSONValue: ...

class Sandbox:
    """A persistent context on a guest thread of its own."""

    def __init__(
        self,
        *,
        globals: Optional[Mapping[str, Any]] = None,
        timeout: Optional[float] = 1.0,
        memory_mb: float = 64,
        capabilities: Optional[Iterable[str]] = (),
        freeze: bool = False,
        deterministic: Deterministic = False,
    ) -> None: ...
    def run(self, code: str) -> JSONValue: ...
    def execute(self, code: str) -> Report: ...
    def run_async(self, code: str) -> Awaitable[JSONValue]: ...
    def call(self, name: str, *args: Any) -> JSONValue: ...
    def set_global(self, name: str, value: Any) -> None: ...
    def expose(self, name: str, fn: Callable[..., Any]) -> None: ...
    def compile(self, code: str, *, filename: str = "<script>", cached_data: Optional[bytes] = None) -> Script: ...
    @property
    def stats(self) -> Dict[str, float]: ...
    @property
    def closed(self) -> bool: ...
    def close(self) -> None: ...
    def __enter__(self) -> "Sandbox": ...
    def __exit__(self, *exc: object) -> bool: ...

class Pool:
    """Workers (threads or processes) running jobs for tenants; share it between threads."""

    def __init__(
        self,
        workers: Optional[int] = None,
        isolation: str = "thread",
        *,
        worker_binary: Optional[str] = None,
        tenants: Optional[List[str]] = None,
    ) -> None: ...
    def add_tenant(self, name: str, *, max_concurrency: Optional[int] = None, max_queued: Optional[int] = None) -> None: ...
    def execute(
        self,
        code: str,
        *,
        tenant: str = "default",
        context: Optional[str] = None,
        globals: Optional[Mapping[str, Any]] = None,
        timeout: Optional[float] = 1.0,
        memory_mb: float = 64,
        capabilities: Optional[Iterable[str]] = (),
        freeze: bool = False,
        deterministic: Deterministic = False,
    ) -> Report: ...
    def run(
        self,
        code: str,
        *,
        tenant: str = "default",
        context: Optional[str] = None,
        globals: Optional[Mapping[str, Any]] = None,
        timeout: Optional[float] = 1.0,
        memory_mb: float = 64,
        capabilities: Optional[Iterable[str]] = (),
        freeze: bool = False,
        deterministic: Deterministic = False,
    ) -> JSONValue: ...
    def stats(self) -> Dict[str, Any]: ...
    def close(self) -> None: ...
    def __enter__(self) -> "Pool": ...
    def __exit__(self, *exc: object) -> bool: ...
