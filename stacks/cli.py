"""`prodkit`: the offline plan, the inventory check, plan diffs and the pull-request comment.

    prodkit plan --stack STACK [-c KEY=VALUE ...] [--out DIR] [--format text|json]
    prodkit check INVENTORY.json [--profile staging|prod] [--format text|json]
    prodkit diff BASE.json HEAD.json [--format text|markdown|json]
    prodkit comment DIR [--sha SHA] [--out FILE]
    prodkit stacks [--dir DIR] [--format text|json]
    prodkit apps | prodkit schema | prodkit --version

Exit codes: 0 planned/clean, 1 mandatory policy violations (or invalid manifests), 2 bad input (one paragraph
on stderr naming the key or field, the value and what is allowed; no traceback).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any, Sequence

from components._core import InputError

EXIT_OK, EXIT_VIOLATIONS, EXIT_INPUT = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 already; keep it one paragraph
        self.print_usage(sys.stderr)
        print(f"prodkit: bad input: {message}", file=sys.stderr)
        raise SystemExit(EXIT_INPUT)


def version() -> str:
    from importlib import metadata

    try:
        return metadata.version("prodkit")
    except metadata.PackageNotFoundError:  # running from a clone that was never installed
        return "0+unknown"


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="prodkit", description="Offline plan and policy check for prodkit stacks.")
    p.add_argument("--version", action="version", version=f"prodkit {version()}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    plan = sub.add_parser("plan", help="plan a stack offline: inventory, policy verdicts, manifests, diagram")
    plan.add_argument("--stack", required=True, help="stack name: reads Pulumi.STACK.yaml")
    plan.add_argument("-c", "--config", action="append", default=[], metavar="KEY=VALUE", help="override one config key")
    plan.add_argument("--out", type=Path, help="output folder (default build/STACK/)")
    plan.add_argument("--format", choices=("text", "json"), default="text")
    plan.add_argument("--dir", type=Path, default=Path("."), help="project folder holding Pulumi.yaml (default .)")
    check = sub.add_parser("check", help="run the policy pack over an inventory from `prodkit plan --format json`")
    check.add_argument("inventory", type=Path)
    check.add_argument("--profile", choices=("staging", "prod"), help="default: the inventory's profile")
    check.add_argument("--format", choices=("text", "json"), default="text")
    d = sub.add_parser("diff", help="what changes between two plans (`plan --format json` output or inventory.json)")
    d.add_argument("base", type=Path, metavar="BASE.json")
    d.add_argument("head", type=Path, metavar="HEAD.json")
    d.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    c = sub.add_parser("comment", help="the pull-request comment (verdicts, diffs, diagrams, plans) of a folder of plans",
                       description="DIR/<stack>/ holds exit-code and plan.txt of `prodkit plan` at the head, head/ (its --out) "
                                   "and optionally base/ (the --out of the same stack planned at the base branch).")
    c.add_argument("folder", type=Path, metavar="DIR", help="one sub-folder per stack: exit-code, plan.txt, head/, base/")
    c.add_argument("--sha", default="", help="the commit planned (shown in the comment)")
    c.add_argument("--out", type=Path, help="write the comment here (default: stdout)")
    st = sub.add_parser("stacks", help="list the Pulumi.<stack>.yaml files with their profile, cloud and region (the CI preview matrix)",
                        description="Every stack file is loaded and validated like `prodkit plan` does; a bad one is refused (exit 2).")
    st.add_argument("--dir", type=Path, default=Path("."), help="project folder holding Pulumi.yaml (default .)")
    st.add_argument("--format", choices=("text", "json"), default="text", help="json: one line, an array of {stack, profile, cloud, region}")
    sub.add_parser("apps", help="list the bundled app specs")
    sub.add_parser("schema", help="print the JSON Schema of app specs (stacks/apps/*.yaml)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except BrokenPipeError:  # `prodkit plan | head`: the reader left; not an error worth a traceback
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    try:
        return {"plan": plan, "check": check, "diff": diff, "comment": comment, "stacks": stacks, "apps": apps, "schema": schema}[args.command](args)
    except InputError as exc:
        print(f"prodkit: bad input: {exc}", file=sys.stderr)
        return EXIT_INPUT


def load_stack(directory: Path, stack: str, sets: list[str]):
    """Validated StackConfig of Pulumi.<stack>.yaml with -c overrides; secure values become placeholders, and so do
    required secrets the stack has not set yet (listed in ``unset_secrets``: the plan says how to set them)."""
    from . import config

    if not (directory / "Pulumi.yaml").is_file():
        raise InputError("--dir", str(directory), "no Pulumi.yaml here: run prodkit from the project folder or pass --dir")
    stack_file = directory / f"Pulumi.{stack}.yaml"
    if not stack_file.is_file():
        from components._core import did_you_mean

        present = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in directory.glob("Pulumi.*.yaml"))
        raise InputError(
            "--stack", stack,
            f"no stack file {stack_file.name} in {directory}; stacks here: " + (", ".join(present) or "none") + "." + did_you_mean(stack, present),
        )
    plain, secure = config.read_stack_file(stack_file)
    file_app = plain.get("prodkit:app")
    plain, secure = config.split_overrides(plain, secure, sets)
    secrets = {k.partition(":")[2]: config.PLACEHOLDER for k in secure if k.startswith(config.NAMESPACE + ":")}
    return config.resolve(stack, plain, secrets, app_overridden=plain.get("prodkit:app") != file_app, offline=True)


#: Component Args fields that come straight from a stack config key (the name the user wrote).
CONFIG_FIELDS = {"domain": "prodkit:domain", "network.cidr": "prodkit:vpcCidr", "cidr": "prodkit:vpcCidr"}


def locate(exc: InputError, directory: Path, stack: str, sets: Sequence[str], app_ref: str | None = None) -> InputError:
    """The error with the file (and line) where the user wrote the bad value: the stack file or `-c`, the spec
    file, with the config key or spec field as written, and YAML 1.1 booleans explained."""
    from . import yamlsource
    from .spec import AppSpec, spec_path

    field = CONFIG_FIELDS.get(exc.field, exc.field)
    if field.startswith("prodkit:"):
        key = field.split(".", 1)[0]
        given = [item.partition("=")[2] for item in sets if item.partition("=")[0] == key]
        typed = None
        if given:
            where = "-c"
            sub = field[len(key) + 1:]
            try:
                _, src = yamlsource.parse(given[-1], where)
                typed = src.typed(sub) if sub else None
            except InputError:
                pass
            if not sub and isinstance(exc.value, bool):
                typed = given[-1]
        else:
            stack_file = directory / f"Pulumi.{stack}.yaml"
            where = stack_file.name
            try:
                _, src = yamlsource.load(stack_file)
                path = "config." + key + (field[len(key):] if len(field) > len(key) else "")
                where = src.where(path).replace(str(stack_file), stack_file.name)
                typed = src.typed(path)
            except InputError:
                pass
        return _with(exc, f"{field} (set with -c)" if where == "-c" else f"{where}: {field}", yamlsource.bool_hint(exc.value, typed))
    top = field.split(".", 1)[0].split("[", 1)[0]
    if app_ref and top in {f for f in AppSpec.__dataclass_fields__}:
        try:
            path = spec_path(app_ref)
            data, src = yamlsource.load(path)
        except InputError:
            return exc
        by_path = re.match(r"^routes\[(/[^\]]*)\](.*)$", field)  # backends name a route by its path
        if by_path and isinstance(data, dict):
            paths = [r.get("path") for r in data.get("routes") or [] if isinstance(r, dict)]
            if by_path.group(1) in paths:
                field = f"routes[{paths.index(by_path.group(1))}]{by_path.group(2)}"
        typed = src.typed(field)
        if isinstance(exc.value, (int, float)) and not isinstance(exc.value, bool) and typed and not re.fullmatch(r"[-+0-9.eE]+", typed):
            exc = InputError(exc.field, typed, exc.allowed, exc.hint)  # '512Mi' as written, not the 512 it became
        return _with(exc, f"{src.where(field)}: {field}", yamlsource.bool_hint(exc.value, typed))
    return exc


def _with(exc: InputError, field: str, extra: str) -> InputError:
    hint = " ".join(h for h in (exc.hint, extra) if h) or None
    allowed = exc.allowed if not hint or exc.allowed.endswith((".", "?", "!")) else exc.allowed + "."
    return InputError(field, exc.value, allowed, hint)


def _app_ref(args: argparse.Namespace) -> str | None:
    """prodkit:app as given (by -c or the stack file), for locating spec errors raised while loading."""
    for item in reversed(args.config):
        key, _, value = item.partition("=")
        if key == "prodkit:app":
            return value
    try:
        from .config import read_stack_file

        return str(read_stack_file(args.dir / f"Pulumi.{args.stack}.yaml")[0].get("prodkit:app") or "") or None
    except (InputError, OSError):
        return None


def run_plan(cfg: Any):
    """(inventory, composition) of a validated stack under the mock engine."""
    from . import app, engine

    app.compose(cfg, app.Checker())  # every bad input fails here, before anything is registered
    holder: dict[str, Any] = {}

    def program() -> None:
        holder["composition"] = app.compose(cfg, app.Builder())

    inventory = engine.run(program, stack=cfg.stack, region=cfg.region or "us-east-1")
    composition = holder["composition"]
    return inventory.ordered(list(composition.components)), composition


def plan(args: argparse.Namespace) -> int:
    from . import diagram, outdir, summary

    cfg = None
    try:
        cfg = load_stack(args.dir, args.stack, args.config)
        out = args.out or args.dir / "build" / args.stack
        previous = outdir.claim(out)  # before planning: a folder we may not clean fails fast
        inventory, composition = run_plan(cfg)
    except InputError as exc:
        if args.out is not None and exc.field == "--out":
            raise
        raise locate(exc, args.dir, args.stack, args.config, cfg.app_ref if cfg else _app_ref(args)) from None
    foreign = outdir.clean(out, previous)
    finish_manifests = None
    if cfg.cloud.value == "kubernetes":
        from .manifests import begin

        finish_manifests = begin(inventory, out / "manifests")  # large apps: validation starts on a second core
    violations = evaluate([r.as_json() for r in inventory.resources], cfg.profile.name, cfg.profile.enforce_policies)
    problems: list[Any] = finish_manifests() if finish_manifests else []
    errors = [p for p in problems if getattr(p, "severity", "error") == "error"]
    (out / "architecture.md").write_text(diagram.markdown(cfg, composition))
    doc = {
        "stack": cfg.stack,
        "app": cfg.app.name,
        "cloud": cfg.cloud.value,
        "profile": cfg.profile.name,
        "resources": [r.as_json() for r in inventory.resources],
        "violations": violations,
        "manifestProblems": [p.__dict__ if hasattr(p, "__dict__") else str(p) for p in problems],
        "secretsToSet": [{"name": n, "command": summary.set_secret_command(n, cfg.stack)} for n in cfg.unset_secrets],
    }
    rendered = json.dumps(doc, sort_keys=True)  # no indent: the C encoder is ~10x faster on large inventories
    (out / "inventory.json").write_text(rendered)
    outdir.record(out, foreign)
    if args.format == "json":
        print(rendered)
    else:
        print(summary.text(cfg, inventory, violations, problems, out))
    mandatory = [v for v in violations if v["level"] == "mandatory"]
    return EXIT_VIOLATIONS if mandatory or errors else EXIT_OK


def evaluate(resources: list[dict[str, Any]], profile: str, mandatory: bool | None = None) -> list[dict[str, Any]]:
    """Run the policy pack (pure functions) over an inventory."""
    import policies

    enforcement = None if mandatory is None else ("mandatory" if mandatory else "advisory")
    return policies.evaluate(resources, profile=profile, enforcement=enforcement)


def check(args: argparse.Namespace) -> int:
    try:
        doc = json.loads(args.inventory.read_text())
    except FileNotFoundError:
        raise InputError("INVENTORY", str(args.inventory), "no such file; produce one with `prodkit plan --stack STACK --format json > inventory.json`") from None
    except json.JSONDecodeError as exc:
        raise InputError("INVENTORY", str(args.inventory), f"not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("resources"), list):
        raise InputError("INVENTORY", str(args.inventory), "expected the `prodkit plan --format json` shape: an object with a `resources` list")
    for i, r in enumerate(doc["resources"]):
        if not isinstance(r, dict) or not {"urn", "type", "inputs"} <= set(r):
            raise InputError(f"INVENTORY resources[{i}]", r if not isinstance(r, dict) else sorted(r), "each resource needs urn, type and inputs")
    profile = args.profile or doc.get("profile") or "prod"
    if profile not in ("staging", "prod"):
        raise InputError("profile", profile, "allowed: staging, prod")
    violations = evaluate(doc["resources"], profile, profile == "prod")
    if args.format == "json":
        print(json.dumps({"violations": violations}, indent=1, sort_keys=True))
    else:
        from .summary import verdicts

        print(verdicts(violations))
    return EXIT_VIOLATIONS if any(v["level"] == "mandatory" for v in violations) else EXIT_OK


def diff(args: argparse.Namespace) -> int:
    from . import plandiff

    base = plandiff.load(args.base, "BASE.json")
    head = plandiff.load(args.head, "HEAD.json")
    d = plandiff.diff(base, head)
    if args.format == "json":
        print(json.dumps(d.as_json(), indent=1, sort_keys=True))
    elif args.format == "markdown":
        print(plandiff.markdown(d))
    else:
        print(plandiff.text(d))
    return EXIT_OK


def comment(args: argparse.Namespace) -> int:
    from . import comment as pr_comment

    body = pr_comment.comment(args.folder, args.sha)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(body)
    else:
        sys.stdout.write(body)
    return EXIT_OK


#: Stack names `prodkit stacks` lists (and CI passes to `pulumi preview --stack`): Pulumi's own charset.
_STACK_NAME = re.compile(r"^[A-Za-z0-9._-]+$")


def stack_rows(directory: Path) -> list[dict[str, str]]:
    """{stack, profile, cloud, region} of every Pulumi.<stack>.yaml in `directory`, sorted by stack name; each
    file is validated as `prodkit plan` would (a bad value is an InputError naming the file and key)."""
    if not (directory / "Pulumi.yaml").is_file():
        raise InputError("--dir", str(directory), "no Pulumi.yaml here: run prodkit from the project folder or pass --dir")
    rows = []
    for path in sorted(directory.glob("Pulumi.*.yaml")):
        stack = path.name[len("Pulumi."):-len(".yaml")]
        if not _STACK_NAME.match(stack):
            raise InputError(f"{path.name}", stack, "unsupported stack file name; allowed: Pulumi.<stack>.yaml with letters, digits, '.', '_' and '-'")
        try:
            cfg = load_stack(directory, stack, [])
        except InputError as exc:
            raise locate(exc, directory, stack, []) from None
        rows.append({"stack": stack, "profile": cfg.profile.name, "cloud": cfg.cloud.value, "region": cfg.region or cfg.aws_region})
    if not rows:
        raise InputError("--dir", str(directory), "no Pulumi.<stack>.yaml stack files here")
    return rows


def stacks(args: argparse.Namespace) -> int:
    rows = stack_rows(args.dir)
    if args.format == "json":
        print(json.dumps(rows, separators=(",", ":")))  # one line: GitHub step outputs are KEY=VALUE lines
        return EXIT_OK
    width = max(len(r["stack"]) for r in rows)
    for r in rows:
        print(f"{r['stack']:<{width}}  {r['profile']:<8}  {r['cloud']:<10}  {r['region'] or '-'}")
    return EXIT_OK


def apps(args: argparse.Namespace) -> int:
    from .spec import bundled_apps, load_app

    rows = []
    for name in bundled_apps():
        spec = load_app(name)
        text = " ".join(spec.description.split())
        first = text.split(". ", 1)[0].rstrip(".")
        rows.append((name, f"{len(spec.services)} service(s)", first))
    width = max(len(r[0]) for r in rows)
    for name, count, text in rows:
        print(f"{name:<{width}}  {count:<12}  {text}")
    print("\nPlan one with `prodkit plan --stack STACK -c prodkit:app=NAME`, or point prodkit:app at your own spec file.")
    return EXIT_OK


def schema(args: argparse.Namespace) -> int:
    from .specschema import json_schema

    print(json.dumps(json_schema(), indent=2))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
