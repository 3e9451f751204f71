"""`dissent audit ...`: verify the audit chains (in full if asked) and export signed
checkpoints to keep outside the database."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import typer

from app.config import Settings, get_settings

audit_app = typer.Typer(help="Verify the audit chains and export signed checkpoints", no_args_is_help=True)


async def _chains(settings: Settings, authority: str | None) -> list[str]:
    import sqlalchemy as sa

    from app.db import Database
    from app.models.authority import Authority
    from app.models.base import table_of
    from app.models.platform import AuditChainHead

    if authority is not None:
        return [authority]
    db = Database(settings)
    try:
        async with db.session() as session:
            # every authority's chain, and any chain with a head (even if its authority is gone)
            query = sa.union(
                sa.select(table_of(Authority).c.code), sa.select(table_of(AuditChainHead).c.chain_key)
            )
            codes = await session.execute(query)
            return sorted(codes.scalars().all())
    finally:
        await db.dispose()


async def _verify(
    settings: Settings, chains: list[str], full: bool, against: dict[str, Any]
) -> list[dict[str, Any]]:
    from app.db import Database
    from app.services import audit_verify

    db = Database(settings)
    results = []
    try:
        for chain in chains:
            async with db.session() as session:
                kept = against.get(chain)
                result = await audit_verify.verify_chain(
                    session,
                    chain,
                    keys=settings.audit_keys,
                    full=full,
                    against=None if kept is None else audit_verify.trusted(settings.audit_keys, kept),
                )
                await session.commit()  # keeps what was sealed
            broken = result.first_broken
            results.append(
                {
                    "chain": chain,
                    "ok": result.ok,
                    "checked": result.checked,
                    "chain_length": result.chain_length,
                    "verified_from": result.verified_from,
                    "checkpoint": chain in against,
                    "first_broken": None if broken is None else {"seq": broken.seq, "reason": broken.reason},
                }
            )
    finally:
        await db.dispose()
    return results


def _read_checkpoints(path: Path) -> dict[str, Any]:
    from app.errors import DomainError
    from app.services.audit_verify import Checkpoint

    data = json.loads(path.read_text(encoding="utf-8"))
    try:
        items = [Checkpoint.from_json(d) for d in (data if isinstance(data, list) else [data])]
    except DomainError as exc:
        raise typer.BadParameter(f"{path}: {exc.detail}") from None
    return {c.chain: c for c in items}


@audit_app.command("verify")
def verify(
    authority: str | None = typer.Option(None, help="One authority's chain (default: every authority's)"),
    full: bool = typer.Option(False, "--full", help="Check every entry, not only those after the checkpoint"),
    checkpoint: Path | None = typer.Option(
        None, help="A file from `dissent audit checkpoint` to check against"
    ),
) -> None:
    """Verify the audit chains; prints one JSON line per chain, exits 1 if any is broken."""
    from app.errors import DomainError

    settings = get_settings()
    against = _read_checkpoints(checkpoint) if checkpoint else {}
    chains = sorted(
        set(asyncio.run(_chains(settings, authority))) | ({*against} if authority is None else set())
    )
    try:
        results = asyncio.run(_verify(settings, chains, full, against))
    except DomainError as exc:  # a checkpoint whose own seal does not hold
        typer.echo(f"{exc.code}: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    for result in results:
        typer.echo(json.dumps(result))
    if not all(r["ok"] for r in results):
        raise typer.Exit(1)


async def _export(settings: Settings, chains: list[str]) -> list[dict[str, Any]]:
    from app.clock import current_time
    from app.db import Database
    from app.services import audit_verify

    db = Database(settings)
    out = []
    try:
        for chain in chains:
            async with db.session() as session:
                now = await current_time(session, settings)
                signed = await audit_verify.export_checkpoint(
                    session, chain, keys=settings.audit_keys, now=now
                )
                await session.commit()
            out.append(signed.to_json())
    finally:
        await db.dispose()
    return out


@audit_app.command("checkpoint")
def checkpoint(
    output: Path = typer.Option(..., help="File to write (JSON); keep it outside the database"),
    authority: str | None = typer.Option(None, help="One authority's chain (default: every authority's)"),
) -> None:
    """Export signed checkpoints (chain, seq, hash, time, key id, MAC) of chains that verify."""
    from app.errors import DomainError

    settings = get_settings()
    try:
        items = asyncio.run(_export(settings, asyncio.run(_chains(settings, authority))))
    except DomainError as exc:
        typer.echo(f"{exc.code}: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    output.write_text(json.dumps(items, indent=2) + "\n", encoding="utf-8")
    typer.echo(f"wrote {len(items)} checkpoints to {output}")
