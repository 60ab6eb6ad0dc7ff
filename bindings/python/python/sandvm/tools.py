"""An agent tool: let a function-calling LLM run JavaScript in a sandbox.

``SCHEMA`` is a JSON-schema function definition (the shape OpenAI-style ``tools`` and
Anthropic-style ``input_schema`` clients take); ``handle(arguments)`` runs the call and returns
a JSON-serialisable dict with the value, the console output and the error, never raising for
anything the model sent. No LLM client is imported.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Mapping, Union

from ._sandvm import execute

#: Most console entries returned to the model (the rest are counted in ``console_truncated``).
MAX_CONSOLE_ENTRIES = 100
#: Most characters of ``display`` and of each console line returned to the model.
MAX_TEXT = 4000
#: Longest time the model may ask for, in milliseconds.
MAX_TIMEOUT_MS = 10_000

SCHEMA: Dict[str, Any] = {
    "name": "run_javascript",
    "description": (
        "Run JavaScript (ES2023, no Node.js APIs, no network, no file system) in a sandbox and "
        "get the value of the last expression, the console output and any error back. "
        "Use it to compute, transform data or check code. Each call starts from a fresh state."
    ),
    "parameters": {
        "type": "object",
        "properties": {
            "code": {
                "type": "string",
                "description": "The script; its completion value (the last expression) is returned.",
            },
            "timeout_ms": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_TIMEOUT_MS,
                "description": "Time limit in milliseconds (default 1000).",
            },
        },
        "required": ["code"],
        "additionalProperties": False,
    },
}


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + f"... [{len(text) - MAX_TEXT} more characters]"


def handle(arguments: Union[str, Mapping[str, Any]]) -> Dict[str, Any]:
    """Runs one tool call. ``arguments`` is the call's arguments, as a dict or a JSON string.

    Returns ``{"ok", "value", "display", "console", "error"}`` (``error`` is ``None`` or
    ``{"kind", "name", "message", "line", "column"}``): hand it back to the model as the tool
    result, e.g. ``json.dumps(handle(call.arguments))``.
    """
    try:
        args = json.loads(arguments) if isinstance(arguments, (str, bytes)) else dict(arguments)
    except (ValueError, TypeError) as e:
        return _refused(f"arguments are not a JSON object: {e}")
    if not isinstance(args, dict):
        return _refused("arguments must be a JSON object")
    code = args.get("code")
    if not isinstance(code, str):
        return _refused("`code` must be a string")
    timeout_ms = args.get("timeout_ms", 1000)
    if isinstance(timeout_ms, bool) or not isinstance(timeout_ms, int) or not 1 <= timeout_ms <= MAX_TIMEOUT_MS:
        return _refused(f"`timeout_ms` must be an integer from 1 to {MAX_TIMEOUT_MS}")
    report = execute(code, timeout=timeout_ms / 1000.0)
    console = report.console
    err = report.error
    return {
        "ok": report.ok,
        "value": report.value,
        "display": _clip(report.display),
        "console": [{"level": c["level"], "text": _clip(c["text"])} for c in console[:MAX_CONSOLE_ENTRIES]],
        "console_truncated": max(0, len(console) - MAX_CONSOLE_ENTRIES),
        "error": None
        if err is None
        else {k: err.get(k) for k in ("kind", "name", "message", "line", "column")},
    }


def _refused(message: str) -> Dict[str, Any]:
    return {
        "ok": False,
        "value": None,
        "display": "",
        "console": [],
        "console_truncated": 0,
        "error": {"kind": "invalid_arguments", "name": None, "message": message, "line": None, "column": None},
    }
