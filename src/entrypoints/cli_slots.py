"""``photochanger slots``: inspect and configure the 15 ingest slots."""

from __future__ import annotations

import json
from typing import Any

import click

from domain.audit import CLI_ACTOR
from domain.slot import Slot
from entrypoints.cli_runtime import run_with_service
from entrypoints.container import Container
from entrypoints.runtime import Roles


def _slot_dict(slot: Slot) -> dict[str, Any]:
    return {
        "id": slot.id,
        "name": slot.name,
        "provider": slot.provider,
        "operation": slot.operation,
        "settings": dict(slot.settings),
        "is_active": slot.is_active,
        "updated_at": slot.updated_at.isoformat(),
    }


@click.group()
def slots() -> None:
    """Inspect and configure the 15 ingest slots."""


@slots.command("list")
@click.pass_context
def slots_list(ctx: click.Context) -> None:
    """One line per slot: id, state, provider/operation, name."""

    async def show(container: Container) -> list[Slot]:
        return await container.slots().list()

    for slot in run_with_service(ctx, Roles(), show):
        state = "active  " if slot.is_active else "inactive"
        kind = f"{slot.provider}/{slot.operation}"
        click.echo(f"{slot.id}  {state}  {kind:<28} {slot.name}")


@slots.command("show")
@click.argument("slot_id", metavar="SLOT")
@click.pass_context
def slots_show(ctx: click.Context, slot_id: str) -> None:
    """Print one slot as JSON."""

    async def show(container: Container) -> Slot | None:
        return await container.slots().get(slot_id)

    slot = run_with_service(ctx, Roles(), show)
    if slot is None:
        raise click.ClickException(f"no slot {slot_id!r} (slots are slot-001 … slot-015)")
    click.echo(json.dumps(_slot_dict(slot), indent=2))


@slots.command("set")
@click.argument("slot_id", metavar="SLOT")
@click.option("--provider", help="local, gemini, turbotext or openai")
@click.option("--operation", help="e.g. grayscale, sepia, overlay (local); image_edit, …")
@click.option("--settings", "settings_json", help="JSON object, e.g. '{\"delay_ms\": 500}'")
@click.option("--name", help="Display name")
@click.option("--active/--inactive", default=None, help="Accept ingests on this slot or not")
@click.pass_context
def slots_set(
    ctx: click.Context,
    slot_id: str,
    provider: str | None,
    operation: str | None,
    settings_json: str | None,
    name: str | None,
    active: bool | None,
) -> None:
    """Change a slot; refuses (naming the problem) anything the provider cannot run."""
    from application.configure_slot import SlotChanges

    if (provider, operation, settings_json, name, active) == (None,) * 5:
        # Saving nothing would still bump updated_at (an open console editor would then say
        # "changed by someone else") and write an audit entry.
        raise click.UsageError(
            "nothing to change: give --provider, --operation, --settings, --name, "
            "--active or --inactive (see the slot with `photochanger slots show`)"
        )
    parsed: dict[str, Any] | None = None
    if settings_json is not None:
        try:
            parsed = json.loads(settings_json)
        except json.JSONDecodeError as exc:
            raise click.BadParameter(f"not valid JSON: {exc}", param_hint="--settings") from None
        if not isinstance(parsed, dict):
            raise click.BadParameter("must be a JSON object", param_hint="--settings")
    changes = SlotChanges(
        slot_id=slot_id,
        name=name,
        provider=provider,
        operation=operation,
        settings=parsed,
        is_active=active,
        actor=CLI_ACTOR,
    )

    async def apply(container: Container) -> Slot:
        return await container.configure_slot()(changes)

    click.echo(json.dumps(_slot_dict(run_with_service(ctx, Roles(), apply)), indent=2))
