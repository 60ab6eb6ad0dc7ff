"""The README's Python block runs and is the example test.sh runs."""

import contextlib
import io
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[3]


def test_readme_python_block_runs():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    assert blocks, "no python block in README.md"
    example = (ROOT / "bindings/python/examples/readme_example.py").read_text()
    assert blocks[0] == example
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(blocks[0], "README.md", "exec"), {"__name__": "readme"})
    assert out.getvalue().splitlines() == ["[2, 4, 6]", "22.99", "the event loop kept running", "stopped: timeout"]
