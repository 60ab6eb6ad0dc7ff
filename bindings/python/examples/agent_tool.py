"""The agent tool without an LLM: feed `sandvm.tools.handle` the tool calls a model would make.

With a real client, pass `sandvm.tools.SCHEMA` as the tool definition (OpenAI: `{"type":
"function", "function": SCHEMA}`; Anthropic: `{"name", "description", "input_schema":
SCHEMA["parameters"]}`) and answer each call with `json.dumps(handle(call.arguments))`.
"""

import json

import sandvm

calls = [
    '{"code": "const xs = [3, 1, 4, 1, 5, 9, 2, 6]; console.log(\'n =\', xs.length); xs.sort((a, b) => a - b)"}',
    '{"code": "while (true) {}", "timeout_ms": 50}',                 # a runaway loop is cut off
    '{"code": "require(\'fs\').readFileSync(\'/etc/passwd\')"}',     # no file system
    '{"code": "JSON.parse(\'{oops\')"}',                              # errors come back as data
]
print("tool:", sandvm.tools.SCHEMA["name"])
for arguments in calls:
    result = sandvm.tools.handle(arguments)
    print(json.dumps(result))

assert sandvm.tools.handle(calls[0])["value"] == [1, 1, 2, 3, 4, 5, 6, 9]
assert sandvm.tools.handle(calls[1])["error"]["kind"] == "timeout"
assert sandvm.tools.handle(calls[2])["error"]["name"] == "ReferenceError"
