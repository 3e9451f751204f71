"""The `dissent` command line: serve, migrate, worker, demo, token, openapi, audit, procedure."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import typer

from app.cli_audit import audit_app
from app.cli_procedure import procedure_app
from app.config import get_settings

app = typer.Typer(
    help="Conference Dissent & Appeals Service", no_args_is_help=True, pretty_exceptions_enable=False
)
app.add_typer(audit_app, name="audit")
app.add_typer(procedure_app, name="procedure")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on"),
    port: int = typer.Option(8000, help="Port"),
    workers: int | None = typer.Option(
        None, help="Worker processes (default: WEB_CONCURRENCY, else one per core)", show_default=False
    ),
) -> None:
    """Run the API with uvicorn (uvloop and httptools; no access log)."""
    import uvicorn

    from app.observability import configure_logging
    from app.server import PROTOCOL, default_workers

    configure_logging(get_settings().log_level)  # the supervisor's own lines, as JSON like the rest
    uvicorn.run(
        "app.main:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers or default_workers(),
        access_log=False,
        log_config=None,
        loop="uvloop",
        # httptools, with the request head capped by the protocol (app/server.py); the app
        # also answers 431 past MAX_HEADER_BYTES.
        http=PROTOCOL,
    )


@app.command()
def migrate(
    runtime_role: str | None = typer.Option(
        None,
        help="PostgreSQL: grant this existing role the service's runtime privileges (DATABASE_RUNTIME_ROLE)",
    ),
) -> None:
    """Upgrade the database to the latest migration (Alembic `upgrade head`), as the role that
    owns the schema; then grant the runtime role least privilege, if one is named."""
    from app.db_roles import RoleError, grant_runtime
    from app.migrations_state import upgrade

    settings = get_settings()
    upgrade(settings.database_url, audit_keys=settings.audit_keys)
    typer.echo("database is at the latest migration")
    role = runtime_role or settings.database_runtime_role
    if role:
        try:
            grant_runtime(settings.database_url, role)
        except RoleError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
        typer.echo(f"granted runtime privileges to {role} (no TRUNCATE, no TRIGGER, owns nothing)")


@app.command()
def worker(once: bool = typer.Option(False, "--once", help="Run a single pass and exit")) -> None:
    """Deliver webhooks and sweep deadlines (approaching, missed, lapsed)."""
    from app.observability import configure_logging
    from app.worker import run

    settings = get_settings()
    configure_logging(settings.log_level)
    result = asyncio.run(run(settings, once=once))
    if once:
        typer.echo(json.dumps(result.__dict__))


@app.command()
def demo(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Create one demo authority per profile with people and a meeting; print tokens."""
    from app.demo import load_demo

    settings = get_settings()
    admin, authorities = asyncio.run(load_demo(settings))
    base = f"http://{host}:{port}"
    typer.echo(f"\nAPI docs (Swagger UI): {base}/docs\n")
    typer.echo(f"system_admin token:\n  {admin}\n")
    for entry in authorities:
        typer.echo(f"Authority {entry.code} ({entry.profile})")
        if entry.conference_id:
            typer.echo(f"  demo conference: {entry.conference_id}")
            typer.echo(f"    {base}/v1/conferences/{entry.conference_id}")
            typer.echo("  people at the meeting:")
        for person in entry.people:
            typer.echo(f"    {person.person_id:<14} {person.name} ({person.role})")
        typer.echo("  tokens:")
        for role, token in entry.tokens.items():
            typer.echo(f"    {role:<14} {token}")
        typer.echo("")
    typer.echo("Use a token as:  curl -H 'Authorization: Bearer <token>' " + base + "/v1/conferences\n")


@app.command()
def token(
    sub: str = typer.Option(..., help="Person id"),
    roles: str = typer.Option(..., help="Comma-separated roles"),
    authority: str | None = typer.Option(None, help="Authority code (not needed for system_admin)"),
    agency: str | None = typer.Option(None),
    name: str | None = typer.Option(None),
    hours: int = typer.Option(12, min=1, help="Lifetime (at most AUTH_MAX_TOKEN_LIFETIME_SECONDS)"),
) -> None:
    """Mint a development token signed with AUTH_JWT_SECRET."""
    from datetime import timedelta

    from app.security import mint_token

    settings = get_settings()
    if not settings.auth_jwt_secret:
        typer.echo("AUTH_JWT_SECRET is not set", err=True)
        raise typer.Exit(2)
    if hours * 3600 > settings.auth_max_token_lifetime_seconds:
        typer.echo("--hours is longer than AUTH_MAX_TOKEN_LIFETIME_SECONDS allows", err=True)
        raise typer.Exit(2)
    typer.echo(
        mint_token(
            settings.auth_jwt_secret,
            sub=sub,
            roles=[r.strip() for r in roles.split(",") if r.strip()],
            authority=authority,
            agency=agency,
            name=name,
            ttl=timedelta(hours=hours),
            issuer=settings.auth_issuer,
            audience=settings.auth_audience,
        )
    )


def render_openapi() -> str:
    from app.config import Settings
    from app.main import create_app

    spec = create_app(Settings(auth_jwt_secret="x" * 32, database_url="sqlite://")).openapi()
    return json.dumps(spec, indent=2, sort_keys=True) + "\n"


@app.command()
def openapi(output: Path = typer.Option(Path("openapi/openapi.json"), help="Where to write")) -> None:
    """Write the OpenAPI description."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_openapi(), encoding="utf-8")
    typer.echo(f"wrote {output}")


if __name__ == "__main__":
    app()
