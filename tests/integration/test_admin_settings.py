"""``/api/settings``, the ingest password, ``/api/audit`` and ``/api/providers``."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from admin_api import error_of, operators
from service_harness import PASSWORD, eventually

from domain.deadlines import TimeoutBounds, ingest_ttl, job_deadline, public_link_ttl
from domain.settings import PASSWORD_HASH_KEY, SYNC_TIMEOUT_KEY


async def test_settings_show_values_derived_ttls_secrets_set_and_who_changed_them(
    database_url: str, tmp_path: Path
) -> None:
    async with operators(database_url, tmp_path, sync_timeout_min_sec=45) as ops:
        patched = await ops.admin.patch("/api/settings", json={"sync_timeout_sec": 52})
        assert patched.status_code == 200, patched.text

        response = await ops.viewer.get("/api/settings")

        assert response.status_code == 200
        shown = response.json()
        bounds = TimeoutBounds(45, 60)
        assert shown["sync_timeout_sec"] == 52
        assert (shown["sync_timeout_min_sec"], shown["sync_timeout_max_sec"]) == (45, 60)
        assert shown["public_link_ttl_sec"] == public_link_ttl(52, bounds)
        assert shown["ingest_ttl_sec"] == ingest_ttl(52, bounds)
        assert shown["job_deadline_sec"] == job_deadline(52, bounds)
        assert shown["result_retention_sec"] == 259200
        assert shown["ingest_password_set"] is True
        assert shown["providers_configured"] == {
            "local": True,
            "gemini": False,
            "openai": False,
            "turbotext": False,
        }
        changes = {c["key"]: c for c in shown["changes"]}
        assert changes[SYNC_TIMEOUT_KEY]["updated_by"] == "ann"
        assert changes[PASSWORD_HASH_KEY]["updated_by"] == "environment"
        stored_hash = await ops.svc.container.app_settings().get_password_hash()
        assert stored_hash is not None and stored_hash not in response.text
        assert PASSWORD not in response.text


async def test_settings_out_of_range_are_named_and_viewers_cannot_change_them(
    database_url: str, tmp_path: Path
) -> None:
    async with operators(database_url, tmp_path, sync_timeout_min_sec=45) as ops:
        too_long = await ops.admin.patch("/api/settings", json={"sync_timeout_sec": 70})
        error = error_of(too_long, 422, "validation_error")
        assert list(error["details"]["fields"]) == ["sync_timeout_sec"]
        too_short = await ops.admin.patch("/api/settings", json={"result_retention_sec": 1})
        assert list(error_of(too_short, 422, "validation_error")["details"]["fields"]) == [
            "result_retention_sec"
        ]
        error_of(
            await ops.admin.patch("/api/settings", json={"timeout": 50}), 400, "invalid_request"
        )
        error_of(
            await ops.viewer.patch("/api/settings", json={"sync_timeout_sec": 50}), 403, "forbidden"
        )
        assert (await ops.admin.get("/api/settings")).json()["sync_timeout_sec"] == 48


async def test_rotating_the_password_spares_the_ingest_in_flight_and_binds_the_next(
    database_url: str, tmp_path: Path
) -> None:
    new_password = "rotated-password-7"
    async with operators(database_url, tmp_path) as ops:
        await ops.svc.configure("slot-001", settings={"delay_ms": 1500})
        in_flight = asyncio.create_task(ops.svc.ingest("slot-001", password=PASSWORD))
        processing: list[Any] = []

        async def accepted() -> bool:
            processing[:] = (await ops.admin.get("/api/jobs?state=processing")).json()["items"]
            return bool(processing)

        await eventually(accepted)
        rotated = await ops.admin.post(
            "/api/settings/ingest-password", json={"password": new_password}
        )
        assert rotated.status_code == 200, rotated.text
        assert rotated.json() == {"generated_password": None}

        finished = await in_flight
        assert finished.status_code == 200, finished.text
        assert finished.headers["x-job-id"] == processing[0]["id"]
        error_of(await ops.svc.ingest("slot-001", password=PASSWORD), 401, "invalid_password")
        assert (await ops.svc.ingest("slot-001", password=new_password)).status_code == 200


async def test_a_generated_password_is_shown_once_and_works(
    database_url: str, tmp_path: Path
) -> None:
    async with operators(database_url, tmp_path) as ops:
        response = await ops.admin.post("/api/settings/ingest-password", json={})

        generated = response.json()["generated_password"]
        assert isinstance(generated, str) and len(generated) >= 16
        assert (await ops.svc.ingest("slot-001", password=generated)).status_code == 200
        assert generated not in (await ops.admin.get("/api/settings")).text
        short = await ops.admin.post("/api/settings/ingest-password", json={"password": "short"})
        assert list(error_of(short, 422, "validation_error")["details"]["fields"]) == ["password"]
        error_of(await ops.viewer.post("/api/settings/ingest-password", json={}), 403, "forbidden")


async def test_the_audit_log_pages_newest_first_and_holds_no_secret(
    database_url: str, tmp_path: Path
) -> None:
    chosen = "chosen-password-9"
    async with operators(database_url, tmp_path) as ops:
        await ops.admin.patch("/api/settings", json={"result_retention_sec": 3600})
        await ops.admin.post("/api/settings/ingest-password", json={"password": chosen})
        generated = (await ops.admin.post("/api/settings/ingest-password", json={})).json()[
            "generated_password"
        ]

        entries, cursor, pages = [], None, 0
        while True:
            page = (
                await ops.viewer.get("/api/audit?limit=2" + (f"&before={cursor}" if cursor else ""))
            ).json()
            entries += page["items"]
            pages += 1
            cursor = page["next"]
            if cursor is None:
                break

        every = (await ops.viewer.get("/api/audit?limit=200")).json()
        assert every["next"] is None and entries == every["items"]
        assert pages == (len(entries) + 1) // 2
        ids = [e["id"] for e in entries]
        assert ids == sorted(ids, reverse=True)
        assert [e["action"] for e in entries[:3]] == [
            "ingest_password.change",
            "ingest_password.change",
            "settings.update",
        ]
        assert entries[2]["before"]["result_retention_sec"] == 259200
        assert entries[2]["after"]["result_retention_sec"] == 3600
        stored_hash = await ops.svc.container.app_settings().get_password_hash()
        text = str(every)
        for secret in (chosen, generated, PASSWORD, stored_hash):
            assert secret and secret not in text
        error_of(await ops.viewer.get("/api/audit?limit=0"), 400, "invalid_request")
        error_of(await ops.anonymous.get("/api/audit"), 401, "unauthorized")


async def test_the_provider_catalogue_describes_each_operations_settings(
    database_url: str, tmp_path: Path
) -> None:
    async with operators(database_url, tmp_path, gemini_api_key="k" * 20) as ops:
        response = await ops.viewer.get("/api/providers")

        assert response.status_code == 200
        providers = {p["name"]: p for p in response.json()["items"]}
        assert {n: p["configured"] for n, p in providers.items()} == {
            "local": True,
            "gemini": True,
            "openai": False,
            "turbotext": False,
        }
        assert providers["turbotext"]["missing"] == "set PHOTOCHANGER_TURBOTEXT_API_KEY"
        assert providers["turbotext"]["needs_public_urls"] is True
        local = {op["name"]: op for op in providers["local"]["operations"]}
        overlay = {s["name"]: s for s in local["overlay"]["settings"]}
        assert overlay["overlay_template_id"]["kind"] == "template"
        assert overlay["overlay_template_id"]["required"] is True
        assert (overlay["delay_ms"]["kind"], overlay["delay_ms"]["required"]) == ("integer", False)
        gemini = {op["name"]: op for op in providers["gemini"]["operations"]}
        edit = {s["name"]: s for s in gemini["image_edit"]["settings"]}
        assert (edit["prompt"]["kind"], edit["prompt"]["required"]) == ("prompt", True)
        assert edit["image_config"]["kind"] == "object"
        assert {f["name"] for f in edit["image_config"]["fields"]} == {"aspect_ratio", "image_size"}
        turbotext = {op["name"]: op for op in providers["turbotext"]["operations"]}
        face = {s["name"]: s for s in turbotext["identity_transfer"]["settings"]}
        assert face["face_restore"]["kind"] == "boolean"
        assert providers["gemini"]["accepted_mimes"] == sorted(
            providers["gemini"]["accepted_mimes"]
        )
