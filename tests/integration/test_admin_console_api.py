"""What the console needs from the API beyond issue 8: the settings described as the domain
declares them (``/api/providers``), a live TTL preview (``/api/settings/preview``) and the
service status (``/api/status``)."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest
from admin_api import error_of, operators
from service_harness import eventually, serve

from domain.providers import PROVIDERS
from entrypoints.runtime import Roles


def _files_bytes(root: Path) -> int:
    """Bytes of the files under ``root``, counted here independently of the service."""
    total = 0
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder, name)
            if path.is_file() and not path.is_symlink():
                total += path.stat().st_size
    return total


async def test_the_catalogue_gives_kinds_ranges_choices_and_defaults(
    database_url: str, tmp_path: Path
) -> None:
    async with operators(database_url, tmp_path) as ops:
        response = await ops.viewer.get("/api/providers")  # also checked against the schema

        assert response.status_code == 200
        providers = {p["name"]: p for p in response.json()["items"]}

        def settings(provider: str, operation: str) -> dict[str, dict[str, object]]:
            ops_by_name = {op["name"]: op for op in providers[provider]["operations"]}
            return {s["name"]: s for s in ops_by_name[operation]["settings"]}

        turbotext = settings("turbotext", "image_edit")
        assert {k: turbotext["strength"][k] for k in ("kind", "minimum", "maximum")} == {
            "kind": "integer",
            "minimum": 0,
            "maximum": 80,
        }
        assert (turbotext["scale"]["minimum"], turbotext["scale"]["maximum"]) == (1, 20)
        assert turbotext["prompt"]["kind"] == "prompt" and turbotext["prompt"]["required"]
        assert turbotext["original_language"]["kind"] == "text"
        face = settings("turbotext", "identity_transfer")
        assert face["face_restore"]["kind"] == "boolean"
        assert face["face_template_id"]["kind"] == "template"

        gemini = settings("gemini", "image_edit")
        assert gemini["model"]["default"] == "gemini-2.5-flash-image"
        image_config = gemini["image_config"]
        assert image_config["kind"] == "object"
        nested = {f["name"]: f for f in image_config["fields"]}  # type: ignore[attr-defined]
        assert nested["image_size"]["kind"] == "enum"
        assert nested["image_size"]["choices"] == ["1K", "2K", "4K"]
        assert nested["aspect_ratio"]["choices"][0] == "1:1"

        openai = settings("openai", "image_edit")
        assert openai["background"]["choices"] == ["transparent", "opaque", "auto"]
        assert openai["background"]["default"] is None  # the provider's own default
        assert openai["model"]["default"] == "gpt-image-1.5"
        local = settings("local", "sepia")
        assert local["delay_ms"] == {
            "name": "delay_ms",
            "description": PROVIDERS["local"].operations["sepia"].fields["delay_ms"].description,
            "required": False,
            "kind": "integer",
            "choices": [],
            "minimum": 0,
            "maximum": 120_000,
            "default": 0,
            "fields": [],
        }


async def test_the_ttl_preview_follows_the_typed_value_and_saves_nothing(
    database_url: str, tmp_path: Path
) -> None:
    async with operators(database_url, tmp_path, sync_timeout_min_sec=45) as ops:
        before = (await ops.viewer.get("/api/settings")).json()

        preview = await ops.viewer.get("/api/settings/preview?sync_timeout_sec=50")

        assert preview.status_code == 200, preview.text
        assert preview.json() == {
            "sync_timeout_sec": 50,
            "public_link_ttl_sec": 50,
            "ingest_ttl_sec": 50,
            "job_deadline_sec": 50,
        }
        assert (await ops.viewer.get("/api/settings")).json() == before  # nothing saved
        # what the preview says is what saving gives
        saved = await ops.admin.patch("/api/settings", json={"sync_timeout_sec": 57.5})
        previewed = await ops.admin.get("/api/settings/preview?sync_timeout_sec=57.5")
        for key in ("public_link_ttl_sec", "ingest_ttl_sec", "job_deadline_sec"):
            assert previewed.json()[key] == saved.json()[key] == 57.5


async def test_the_ttl_preview_refuses_what_saving_refuses(
    database_url: str, tmp_path: Path
) -> None:
    async with operators(database_url, tmp_path, sync_timeout_min_sec=45) as ops:
        for value in ("44", "61", "-1", "nan"):
            previewed = await ops.viewer.get(f"/api/settings/preview?sync_timeout_sec={value}")
            refused = error_of(previewed, 422, "validation_error")
            assert list(refused["details"]["fields"]) == ["sync_timeout_sec"]
            if value != "nan":  # JSON has no NaN to PATCH with
                patched = await ops.admin.patch(
                    "/api/settings", json={"sync_timeout_sec": float(value)}
                )
                assert error_of(patched, 422, "validation_error")["message"] == refused["message"]
        error_of(await ops.viewer.get("/api/settings/preview"), 400, "invalid_request")
        error_of(
            await ops.viewer.get("/api/settings/preview?sync_timeout_sec=soon"),
            400,
            "invalid_request",
        )
        error_of(
            await ops.anonymous.get("/api/settings/preview?sync_timeout_sec=50"),
            401,
            "unauthorized",
        )


async def test_the_status_reports_the_database_the_queue_and_media_root(
    database_url: str, tmp_path: Path
) -> None:
    # No worker: a booth's job stays in the queue until its deadline.
    async with operators(
        database_url, tmp_path, roles=Roles(provision_password=True), sync_timeout_min_sec=0.5
    ) as ops:
        await ops.svc.set_sync_timeout(3)
        booth = asyncio.create_task(ops.svc.ingest("slot-001"))

        async def queued() -> bool:
            jobs = await ops.viewer.get("/api/jobs?state=pending")
            return len(jobs.json()["items"]) == 1

        await eventually(queued)
        response = await ops.viewer.get("/api/status")

        assert response.status_code == 200, response.text
        status = response.json()
        assert status["database"] == "ok"
        queue = status["queue"]
        assert (queue["pending"], queue["processing"]) == (1, 0)
        assert 0 <= queue["oldest_pending_age_sec"] < 3
        media = status["media_root"]
        assert media["state"] == "ok"
        media_root = ops.svc.settings.media_path
        assert media["used_bytes"] == _files_bytes(media_root) > 0  # the booth's photo
        assert 0 < media["free_bytes"] <= shutil.disk_usage(media_root).total
        # the same count as the Prometheus gauge: one statement for both
        metrics = (await ops.svc.client.get("/metrics")).text
        depth = next(
            line.split()[1]
            for line in metrics.splitlines()
            if line.startswith("photochanger_queue_depth ")
        )
        assert float(depth) == queue["pending"]

        assert (await booth).status_code == 504  # nobody took it before its deadline
        error_of(await ops.anonymous.get("/api/status"), 401, "unauthorized")


async def test_the_first_administrator_is_sent_to_the_console(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with serve(database_url, tmp_path, public_base_url="https://booth.example"):
        pass
    printed = capsys.readouterr().err
    assert "No administrator existed" in printed
    assert "operator console at https://booth.example/admin (scripts: POST /api/login)" in printed
