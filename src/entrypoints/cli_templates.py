"""``photochanger templates``: the permanent images slot settings refer to."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import UUID

import click

from application.manage_templates import NewTemplate
from domain.audit import CLI_ACTOR
from domain.media import TemplateMedia
from entrypoints.cli_runtime import run_with_service
from entrypoints.container import Container
from entrypoints.runtime import Roles

CHUNK_BYTES = 256 * 1024


def _template_dict(template: TemplateMedia) -> dict[str, Any]:
    return {
        "id": str(template.id),
        "label": template.label,
        "mime": template.mime,
        "size_bytes": template.size_bytes,
        "checksum": template.checksum,
        "uploaded_by": template.uploaded_by,
        "created_at": template.created_at.isoformat(),
    }


@click.group()
def templates() -> None:
    """Template images for slot settings (overlay frames, style and face images)."""


@templates.command("add")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--label", required=True, help="What the image is, e.g. 'wedding frame'")
@click.option(
    "--uploaded-by", default=CLI_ACTOR, show_default=True, help="Who added it (also in the audit)"
)
@click.pass_context
def templates_add(ctx: click.Context, file: Path, label: str, uploaded_by: str) -> None:
    """Store FILE as a template and print it as JSON (use its id in slot settings)."""

    async def chunks() -> AsyncIterator[bytes]:
        with file.open("rb") as handle:
            while chunk := handle.read(CHUNK_BYTES):
                yield chunk

    async def add(container: Container) -> TemplateMedia:
        new = NewTemplate(label=label, image=chunks(), actor=uploaded_by)
        return await container.add_template()(new)

    click.echo(json.dumps(_template_dict(run_with_service(ctx, Roles(), add)), indent=2))


@templates.command("list")
@click.pass_context
def templates_list(ctx: click.Context) -> None:
    """One line per template: id, type, size, label."""

    async def read(container: Container) -> list[TemplateMedia]:
        return await container.templates().list()

    for template in run_with_service(ctx, Roles(), read):
        click.echo(f"{template.id}  {template.mime:<11} {template.size_bytes:>9}  {template.label}")


@templates.command("remove")
@click.argument("template_id", metavar="ID", type=click.UUID)
@click.option("--force", is_flag=True, help="Remove even if an active slot uses it")
@click.pass_context
def templates_remove(ctx: click.Context, template_id: UUID, force: bool) -> None:
    """Delete a template and its file; refused while an active slot uses it."""

    async def remove(container: Container) -> TemplateMedia:
        return await container.remove_template()(template_id, actor=CLI_ACTOR, force=force)

    removed = run_with_service(ctx, Roles(), remove)
    click.echo(f"removed template {removed.id} ({removed.label})")
