"""`dissent procedure ...`: check a local procedure definition file before adopting it, and
show what it changes from its built-in base. Offline: no database (the checks that need
one, such as categories in use, are made again on adoption)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import typer

from app.errors import RuleViolation
from app.profiles import Profile, all_profiles
from app.rules import procedure as rules

procedure_app = typer.Typer(help="Check local procedure definitions", no_args_is_help=True)

_FILE = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="A definition (JSON)")
_AUTHORITY = typer.Option("local", help="The adopting authority's code (names a definition without `code`)")


def _resolve(path: Path, authority: str) -> tuple[str, Profile]:
    """The definition's base and the merged procedure; each problem printed and exit 1."""
    try:
        definition: Any = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        typer.echo(f"{path}: not JSON: {exc}", err=True)
        raise typer.Exit(1) from exc
    if not isinstance(definition, dict):
        typer.echo(f"{path}: a definition is a JSON object", err=True)
        raise typer.Exit(1)
    builtins = all_profiles()
    try:
        base, _ = rules.check_wrapper(definition, builtin_codes=builtins, local_codes=(), today=date.today())
        code = rules.procedure_code(definition, authority_code=authority, builtin_codes=builtins)
        profile = rules.resolve(
            definition, base=builtins[base].model_dump(mode="json"), code=code, used_categories=()
        )
    except RuleViolation as exc:
        typer.echo(f"{path}: refused ({exc.code}): {exc.detail}", err=True)
        for problem in exc.errors or []:
            typer.echo(f"  {problem['pointer'] or '/'}: {problem['code']}: {problem['detail']}", err=True)
        raise typer.Exit(1) from exc
    return base, profile


@procedure_app.command("validate")
def validate(path: Path = _FILE, authority: str = _AUTHORITY) -> None:
    """Merge the definition into its base and check it as adoption would (exit 1 on problems)."""
    base, profile = _resolve(path, authority)
    step = profile.dissent.written_step.deadline
    days = (
        f"{step.working_days} working" if step.working_days is not None else f"{step.calendar_days} calendar"
    )
    typer.echo(f"{path}: valid: {profile.code} extends {base}")
    typer.echo(f"  {profile.title}")
    typer.echo(f"  written step ({step.kind}): {days} days from {step.counted_from}")
    typer.echo(f"  family appeals: {'yes' if profile.appeals.enabled else 'no'}")


@procedure_app.command("diff")
def diff(path: Path = _FILE, authority: str = _AUTHORITY) -> None:
    """What the merged procedure changes from its built-in base, one line per change."""
    base, profile = _resolve(path, authority)
    changes = rules.diff(all_profiles()[base].model_dump(mode="json"), profile.model_dump(mode="json"))
    typer.echo(f"{profile.code} against {base}: {len(changes)} change(s)")
    for change in changes:
        typer.echo(f"  {change.describe()}")
