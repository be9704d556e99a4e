"""The shape rules of the application that no linter checks (run by `make check`).

- No module over 400 lines.
- No function over 60 lines, unless a comment inside it starts with `# long:` and says why.
- No import inside a function body, unless a comment on that line says why (a bare
  `# noqa: ...` is not a reason).

Migrations are generated code and are left out.
"""

from __future__ import annotations

import ast
import io
import re
import sys
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("digest", "subscriptions")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
NOQA = re.compile(r"noqa(:\s*[A-Z]+[0-9]+(\s*,\s*[A-Z]+[0-9]+)*)?", re.IGNORECASE)


def _comments(source: str) -> dict[int, str]:
    """Each line's comment, keyed by line number."""
    found: dict[int, str] = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            found[token.start[0]] = token.string.lstrip("#").strip()
    return found


def _says_why(comment: str | None) -> bool:
    return bool(comment and NOQA.sub("", comment).strip(" ()-:;,."))


def check_file(path: Path) -> list[str]:
    source = path.read_text(encoding="utf-8")
    name = path.relative_to(ROOT)
    problems = []
    lines = source.count("\n") + (not source.endswith("\n"))
    if lines > MAX_MODULE_LINES:
        problems.append(f"{name}: {lines} lines, more than {MAX_MODULE_LINES}: split the module")
    comments = _comments(source)
    for node in ast.walk(ast.parse(source, str(path))):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        end = node.end_lineno or node.lineno
        length = end - node.lineno + 1
        own = [comments.get(n, "") for n in range(node.lineno, end + 1)]
        if length > MAX_FUNCTION_LINES and not any(c.startswith("long:") for c in own):
            problems.append(
                f"{name}:{node.lineno}: {node.name}() is {length} lines, more than "
                f"{MAX_FUNCTION_LINES}: split it or say why in a `# long:` comment"
            )
        for inner in ast.walk(node):
            is_import = isinstance(inner, ast.Import | ast.ImportFrom)
            if is_import and not _says_why(comments.get(inner.lineno)):
                problems.append(
                    f"{name}:{inner.lineno}: import inside {node.name}(): move it to the "
                    "top of the module or say why in a comment on that line"
                )
    return problems


def main() -> int:
    problems: list[str] = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                problems.extend(check_file(path))
    for problem in sorted(set(problems)):
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
