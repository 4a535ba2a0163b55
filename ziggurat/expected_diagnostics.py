"""MLIR-style expected diagnostics: `// expected-error@+1 {{text}}` comments in a test file.

`@+N` / `@-N` point N lines below / above the comment, `@N` at line N, no `@` at the
comment's own line. Each error the tool reports must be expected (same line, message
containing the text) and each expectation must be met; checked chunk by chunk.
"""

import re
from dataclasses import dataclass

from ziggurat.core.diagnostics import Diagnostic

EXPECTATION = re.compile(r"//\s*expected-error(?:@([+-]?\d+))?\s*\{\{(.*?)\}\}")


@dataclass(frozen=True)
class Expectation:
    line: int
    text: str


def expectations(chunk: str, line_offset: int = 0) -> list[Expectation]:
    """The expectations written in `chunk`, with absolute line numbers."""
    found: list[Expectation] = []
    for index, line in enumerate(chunk.splitlines(), start=1 + line_offset):
        for match in EXPECTATION.finditer(line):
            where, text = match.group(1), match.group(2)
            if where is None:
                target = index
            elif where[0] in "+-":
                target = index + int(where)
            else:
                target = int(where)
            found.append(Expectation(target, text))
    return found


def check(expected: list[Expectation], produced: list[Diagnostic], file: str) -> list[str]:
    """Messages for every unmet expectation and every unexpected diagnostic."""
    problems: list[str] = []
    remaining = list(produced)
    for expectation in expected:
        match = next(
            (
                d
                for d in remaining
                if d.location is not None
                and d.location.line == expectation.line
                and expectation.text in d.message
            ),
            None,
        )
        if match is None:
            problems.append(
                f'{file}:{expectation.line}: error: expected error "{expectation.text}" was not produced'
            )
        else:
            remaining.remove(match)
    for diagnostic in remaining:
        problems.append(f"{diagnostic} (unexpected)")
    return problems
