"""`prodkit comment DIR`: the pull-request comment of the offline plans (pr.yml builds DIR, pr-comment.yml posts).

DIR holds one folder per stack, as the workflow writes them::

    DIR/<stack>/exit-code        the exit code of `prodkit plan` at the pull request's head
    DIR/<stack>/plan.txt         its text output
    DIR/<stack>/head/            its --out folder (inventory.json, architecture.md)
    DIR/<stack>/base/            optional: the --out folder of the same stack planned at the base branch

The comment has a table of verdicts (and what the change does to each stack), then per stack the diff against
the base, the diagram and the plan text. It is cut to fit GitHub's comment limit by shortening the plan texts
first, never the table.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from components._core import InputError

from . import plandiff

VERDICTS = {0: "✅ clean", 1: "❌ mandatory policy violations", 2: "⚠️ bad input"}
LIMIT = 60000
_STACK = re.compile(r"^[A-Za-z0-9._-]+$")


@dataclass
class StackResult:
    stack: str
    exit_code: int | None
    plan_text: str
    diagram: str
    head: dict | None
    base: dict | None

    @property
    def verdict(self) -> str:
        if self.exit_code is None:
            return "💥 not planned"
        return VERDICTS.get(self.exit_code, f"💥 exit {self.exit_code}")

    def diff(self) -> plandiff.PlanDiff | None:
        if self.head is None or self.base is None:
            return None
        return plandiff.diff(self.base, self.head)


def _read_json(path: Path) -> dict | None:
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and isinstance(doc.get("resources"), list) else None


def collect(folder: Path) -> list[StackResult]:
    if not folder.is_dir():
        raise InputError("DIR", str(folder), "file not found: expected a folder with one sub-folder per stack (see `prodkit comment --help`)")
    results = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        if not _STACK.match(sub.name):
            continue
        code_text = (sub / "exit-code").read_text().strip() if (sub / "exit-code").is_file() else ""
        code = int(code_text) if code_text.isdigit() else None
        results.append(StackResult(
            stack=sub.name, exit_code=code,
            plan_text=(sub / "plan.txt").read_text(errors="replace") if (sub / "plan.txt").is_file() else "",
            diagram=(sub / "head" / "architecture.md").read_text(errors="replace") if (sub / "head" / "architecture.md").is_file() else "",
            head=_read_json(sub / "head" / "inventory.json"), base=_read_json(sub / "base" / "inventory.json"),
        ))
    return results


def _fenced(text: str, lang: str = "text") -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{text.rstrip()}\n{fence}"


def _change_summary(r: StackResult) -> str:
    d = r.diff()
    if d is None:
        return "no base plan (new stack, or the base did not plan)" if r.head is not None else "-"
    counts = [f"{len(d.of(a))} {a}" for a in ("added", "removed", "replaced", "changed") if d.of(a)]
    return ", ".join(counts) or "no change"


def render(results: list[StackResult], sha: str = "", text_cap: int | None = None) -> str:
    at = f" at `{sha[:12]}`" if sha else ""
    parts = [f"## prodkit plan\n\nOffline plan of every stack file{at}, compared with the base branch.\n",
             "| stack | verdict | change against the base |", "|---|---|---|"]
    parts += [f"| `{r.stack}` | {r.verdict} | {_change_summary(r)} |" for r in results]
    if not results:
        parts.append("| _(no Pulumi.<stack>.yaml files)_ | | |")
    for r in results:
        text = r.plan_text
        if text_cap is not None and len(text) > text_cap:
            text = text[:text_cap].rsplit("\n", 1)[0] + f"\n... cut ({len(r.plan_text) - text_cap} more characters; see the job log)"
        parts += ["", f"### `{r.stack}`: {r.verdict}", ""]
        d = r.diff()
        if d is not None:
            parts += ["#### Change against the base", "", plandiff.markdown(d), ""]
        if r.diagram:
            parts += [r.diagram.strip(), ""]
        parts += ["<details><summary>plan output</summary>", "", _fenced(text or "(no output)"), "", "</details>"]
    return "\n".join(parts) + "\n"


def comment(folder: Path, sha: str = "", limit: int = LIMIT) -> str:
    results = collect(folder)
    body = render(results, sha)
    for cap in (20000, 8000, 3000, 1000, 0):
        if len(body) <= limit:
            break
        body = render(results, sha, cap)
    if len(body) > limit:
        body = body[: limit - 80].rsplit("\n", 1)[0] + "\n\n_(comment cut to GitHub's size limit; see the job log)_\n"
    return body
