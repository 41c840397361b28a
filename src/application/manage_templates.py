"""Template images (SPEC §2 TemplateMedia): add, list and remove them for slot settings."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from application.operator_ports import AuditLog
from application.ports import Clock, MediaStorage, SlotRepository, TemplateRepository
from domain.audit import AuditEntry
from domain.errors import InvalidRequest, NotFound, TemplateInUse
from domain.media import MediaArea, TemplateMedia

MAX_LABEL_LENGTH = 200


@dataclass(frozen=True, slots=True)
class NewTemplate:
    label: str
    image: AsyncIterator[bytes]
    actor: str = field(kw_only=True)  # who uploads: an administrator's username, or "cli"


def template_snapshot(template: TemplateMedia) -> dict[str, Any]:
    return {
        "label": template.label,
        "mime": template.mime,
        "size_bytes": template.size_bytes,
        "checksum": template.checksum,
    }


class AddTemplate:
    """Store the image (its type decided from the bytes) and record it; templates are
    permanent until removed."""

    def __init__(
        self,
        *,
        templates: TemplateRepository,
        storage: MediaStorage,
        clock: Clock,
        audit: AuditLog,
        max_bytes: int,
    ) -> None:
        self._templates = templates
        self._storage = storage
        self._clock = clock
        self._audit = audit
        self._max_bytes = max_bytes

    async def __call__(self, new: NewTemplate) -> TemplateMedia:
        label = new.label.strip()
        if not label or len(label) > MAX_LABEL_LENGTH:
            raise InvalidRequest(
                f"a template label needs 1..{MAX_LABEL_LENGTH} characters", {"field": "label"}
            )
        stored = await self._storage.save_stream(
            MediaArea.TEMPLATES, new.image, max_bytes=self._max_bytes
        )
        template = TemplateMedia(
            id=uuid.uuid4(),
            path=stored.path,
            mime=stored.mime,
            size_bytes=stored.size_bytes,
            checksum=stored.sha256,
            label=label,
            uploaded_by=new.actor,
            created_at=self._clock.now(),
        )
        try:
            await self._templates.add(template)
        except BaseException:
            await self._storage.delete(stored.path)
            raise
        await self._audit.record(
            AuditEntry(
                actor=new.actor,
                action="template.add",
                target=str(template.id),
                at=template.created_at,
                after=template_snapshot(template),
            )
        )
        return template


class RemoveTemplate:
    """Refuse to pull a template from under an active slot, unless forced (the slot's jobs
    would then fail with provider_error until it is reconfigured)."""

    def __init__(
        self,
        *,
        templates: TemplateRepository,
        slots: SlotRepository,
        storage: MediaStorage,
        audit: AuditLog,
        clock: Clock,
    ) -> None:
        self._templates = templates
        self._slots = slots
        self._storage = storage
        self._audit = audit
        self._clock = clock

    async def __call__(
        self, template_id: uuid.UUID, *, actor: str, force: bool = False
    ) -> TemplateMedia:
        template = await self._templates.get(template_id)
        if template is None:
            raise NotFound(f"template {template_id} does not exist")
        users = [
            slot.id
            for slot in await self._slots.list()
            if slot.is_active and str(template_id) in slot.template_ids().values()
        ]
        if users and not force:
            raise TemplateInUse(
                f"template {template_id} is used by active slot(s) {', '.join(users)}; "
                "reconfigure them first or use --force",
                {"slots": users},
            )
        await self._templates.remove(template_id)
        await self._storage.delete(template.path)
        await self._audit.record(
            AuditEntry(
                actor=actor,
                action="template.remove",
                target=str(template_id),
                at=self._clock.now(),
                # A forced removal also records which active slots still referred to it.
                before={**template_snapshot(template), **({"used_by": users} if users else {})},
            )
        )
        return template
