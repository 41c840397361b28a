"""ListTemplates and GetTemplateImage: the operator's template library (SPEC §10
"Templates"). Adding and removing are ``AddTemplate`` / ``RemoveTemplate``."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.ports import MediaStorage, SlotRepository, TemplateRepository
from application.public_downloads import Download
from domain.errors import NotFound
from domain.media import TemplateMedia, extension_for_mime


@dataclass(frozen=True, slots=True)
class TemplateUsage:
    template: TemplateMedia
    used_by: list[str]  # slots whose settings reference it (active or not)
    used_by_active: list[str]  # those a removal would break (``RemoveTemplate`` refuses)


class ListTemplates:
    """Every template, oldest first, with the slots that use it."""

    def __init__(self, *, templates: TemplateRepository, slots: SlotRepository) -> None:
        self._templates = templates
        self._slots = slots

    async def __call__(self) -> list[TemplateUsage]:
        slots = await self._slots.list()
        usage: list[TemplateUsage] = []
        for template in await self._templates.list():
            users = [s for s in slots if str(template.id) in s.template_ids().values()]
            usage.append(
                TemplateUsage(
                    template=template,
                    used_by=[s.id for s in users],
                    used_by_active=[s.id for s in users if s.is_active],
                )
            )
        return usage


class GetTemplateImage:
    """The image file of a template, to look at or download."""

    def __init__(self, *, templates: TemplateRepository, storage: MediaStorage) -> None:
        self._templates = templates
        self._storage = storage

    async def __call__(self, template_id: UUID) -> Download:
        template = await self._templates.get(template_id)
        if template is None:
            raise NotFound(
                f"template {template_id} does not exist", {"template_id": str(template_id)}
            )
        return Download(
            file=self._storage.absolute_path(template.path),
            mime=template.mime,
            filename=f"template-{template.id}{extension_for_mime(template.mime)}",
        )
