"""AddTemplate and RemoveTemplate against in-memory fakes."""

from __future__ import annotations

from uuid import uuid4

import pytest
from fakes import (
    PNG,
    FakeClock,
    InMemoryMediaStorage,
    InMemorySlotRepository,
    InMemoryTemplateRepository,
    chunks_of,
)
from operator_fakes import InMemoryAuditLog

from application.manage_templates import AddTemplate, NewTemplate, RemoveTemplate
from domain.errors import InvalidConfiguration, InvalidRequest, NotFound, PayloadTooLarge
from domain.media import MediaArea, TemplateMedia


@pytest.fixture
def audit() -> InMemoryAuditLog:
    return InMemoryAuditLog()


@pytest.fixture
def add_template(
    templates: InMemoryTemplateRepository,
    storage: InMemoryMediaStorage,
    clock: FakeClock,
    audit: InMemoryAuditLog,
) -> AddTemplate:
    return AddTemplate(
        templates=templates, storage=storage, clock=clock, audit=audit, max_bytes=1024 * 1024
    )


@pytest.fixture
def remove_template(
    templates: InMemoryTemplateRepository,
    slots: InMemorySlotRepository,
    storage: InMemoryMediaStorage,
    audit: InMemoryAuditLog,
    clock: FakeClock,
) -> RemoveTemplate:
    return RemoveTemplate(
        templates=templates, slots=slots, storage=storage, audit=audit, clock=clock
    )


async def test_added_template_is_stored_and_recorded(
    add_template: AddTemplate,
    templates: InMemoryTemplateRepository,
    storage: InMemoryMediaStorage,
    clock: FakeClock,
) -> None:
    template = await add_template(NewTemplate(label="  frame  ", image=chunks_of(PNG), actor="ann"))

    assert templates.rows[template.id] == template
    assert template.label == "frame" and template.mime == "image/png"
    assert template.size_bytes == len(PNG) and template.created_at == clock.now()
    assert storage.files[template.path].data == PNG
    assert template.path in storage.paths(MediaArea.TEMPLATES)


@pytest.mark.parametrize("label", ["", "   ", "x" * 201])
async def test_a_bad_label_is_refused_before_storing(
    add_template: AddTemplate, storage: InMemoryMediaStorage, label: str
) -> None:
    with pytest.raises(InvalidRequest):
        await add_template(NewTemplate(label=label, image=chunks_of(PNG), actor="ann"))
    assert storage.paths(MediaArea.TEMPLATES) == set()


async def test_an_oversized_template_is_refused(
    templates: InMemoryTemplateRepository, storage: InMemoryMediaStorage, clock: FakeClock
) -> None:
    tiny = AddTemplate(
        templates=templates, storage=storage, clock=clock, audit=InMemoryAuditLog(), max_bytes=10
    )
    with pytest.raises(PayloadTooLarge):
        await tiny(NewTemplate(label="big", image=chunks_of(PNG), actor="ann"))
    assert templates.rows == {}


async def test_a_template_an_active_slot_uses_is_kept_unless_forced(
    remove_template: RemoveTemplate,
    templates: InMemoryTemplateRepository,
    storage: InMemoryMediaStorage,
    overlay: TemplateMedia,
) -> None:
    with pytest.raises(InvalidConfiguration) as refused:
        await remove_template(overlay.id, actor="ann")
    assert refused.value.details == {"slots": ["slot-004"]}
    assert overlay.id in templates.rows and overlay.path in storage.files

    removed = await remove_template(overlay.id, actor="ann", force=True)

    assert removed == overlay
    assert overlay.id not in templates.rows and overlay.path not in storage.files


async def test_an_unused_template_is_removed_and_an_unknown_one_is_not_found(
    add_template: AddTemplate,
    remove_template: RemoveTemplate,
    templates: InMemoryTemplateRepository,
) -> None:
    spare = await add_template(NewTemplate(label="spare", image=chunks_of(PNG), actor="ann"))
    await remove_template(spare.id, actor="ann")
    assert spare.id not in templates.rows
    with pytest.raises(NotFound):
        await remove_template(uuid4(), actor="ann")


async def test_adding_and_removing_are_audited_and_refusals_are_not(
    add_template: AddTemplate,
    remove_template: RemoveTemplate,
    audit: InMemoryAuditLog,
    overlay: TemplateMedia,
) -> None:
    added = await add_template(NewTemplate(label="frame", image=chunks_of(PNG), actor="ann"))
    with pytest.raises(InvalidRequest):
        await add_template(NewTemplate(label=" ", image=chunks_of(PNG), actor="bob"))
    with pytest.raises(InvalidConfiguration):
        await remove_template(overlay.id, actor="bob")
    await remove_template(added.id, actor="cli")
    await remove_template(overlay.id, actor="ann", force=True)

    snapshot = {"label": "frame", "mime": "image/png", "size_bytes": len(PNG)}
    add, remove, forced = audit.entries
    assert (add.actor, add.action, add.target, add.before) == (
        "ann",
        "template.add",
        str(added.id),
        None,
    )
    assert add.after is not None and snapshot.items() <= add.after.items()
    assert added.uploaded_by == "ann"
    assert (remove.actor, remove.action, remove.target, remove.after) == (
        "cli",
        "template.remove",
        str(added.id),
        None,
    )
    assert remove.before is not None and "used_by" not in remove.before
    assert forced.before is not None and forced.before["used_by"] == ["slot-004"]
