"""`prodkit`: the offline plan and the inventory check.

    prodkit plan --stack STACK [-c KEY=VALUE ...] [--out DIR] [--format text|json]
    prodkit check INVENTORY.json [--profile staging|prod] [--format text|json]

Exit codes: 0 planned/clean, 1 mandatory policy violations (or invalid manifests), 2 bad input (one paragraph
on stderr naming the key or field, the value and what is allowed; no traceback).
"""

from __future__ import annotations

import argparse
import json
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


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="prodkit", description="Offline plan and policy check for prodkit stacks.")
    sub = p.add_subparsers(dest="command", required=True)
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
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "plan":
            return plan(args)
        return check(args)
    except InputError as exc:
        print(f"prodkit: bad input: {exc}", file=sys.stderr)
        return EXIT_INPUT


def load_stack(directory: Path, stack: str, sets: list[str]):
    """Validated StackConfig of Pulumi.<stack>.yaml with -c overrides; secure values become placeholders, and so do
    required secrets the stack has not set yet (listed in ``unset_secrets``: the plan says how to set them)."""
    from . import config

    if not (directory / "Pulumi.yaml").is_file():
        raise InputError("--dir", str(directory), "no Pulumi.yaml here: run prodkit from the project folder or pass --dir")
    plain, secure = config.read_stack_file(directory / f"Pulumi.{stack}.yaml")
    file_app = plain.get("prodkit:app")
    plain, secure = config.split_overrides(plain, secure, sets)
    secrets = {k.partition(":")[2]: config.PLACEHOLDER for k in secure if k.startswith(config.NAMESPACE + ":")}
    return config.resolve(stack, plain, secrets, app_overridden=plain.get("prodkit:app") != file_app, offline=True)


def run_plan(cfg: Any):
    """(inventory, composition) of a validated stack under the mock engine."""
    from . import app, engine

    app.compose(cfg, app.Checker())  # every bad input fails here, before anything is registered
    holder: dict[str, Any] = {}

    def program() -> None:
        holder["composition"] = app.compose(cfg, app.Builder())

    inventory = engine.run(program, stack=cfg.stack, region=cfg.region or "us-east-1")
    return inventory, holder["composition"]


def plan(args: argparse.Namespace) -> int:
    from . import diagram, summary

    cfg = load_stack(args.dir, args.stack, args.config)
    inventory, composition = run_plan(cfg)
    out = args.out or args.dir / "build" / args.stack
    out.mkdir(parents=True, exist_ok=True)
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


if __name__ == "__main__":
    sys.exit(main())
