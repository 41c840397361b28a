"""``/api/templates``: upload (type from the bytes, 413/415), list with users, the image
(admins only), removal refused while an active slot uses it."""

from __future__ import annotations

from pathlib import Path

from admin_api import error_of, operators
from service_harness import png_bytes


def upload(data: bytes, label: str | None = "frame", name: str = "t.png") -> dict[str, object]:
    form = {} if label is None else {"label": label}
    return {"files": {"file": (name, data, "application/octet-stream")}, "data": form}


async def test_a_template_is_uploaded_listed_and_served_to_admins(
    database_url: str, tmp_path: Path
) -> None:
    image = png_bytes(color=(10, 20, 30, 255))
    async with operators(database_url, tmp_path) as ops:
        response = await ops.admin.post("/api/templates", **upload(image, "wedding frame"))

        assert response.status_code == 201, response.text
        added = response.json()
        assert (added["label"], added["mime"], added["size_bytes"]) == (
            "wedding frame",
            "image/png",  # from the bytes, not the declared octet-stream
            len(image),
        )
        assert added["uploaded_by"] == "ann"
        await ops.svc.configure(
            "slot-004", operation="overlay", settings={"overlay_template_id": added["id"]}
        )
        [listed] = (await ops.viewer.get("/api/templates")).json()["items"]
        assert listed["id"] == added["id"]
        assert (listed["used_by"], listed["used_by_active"]) == (["slot-004"], [])
        served = await ops.admin.get(f"/api/templates/{added['id']}/image")
        assert served.status_code == 200
        assert served.content == image and served.headers["content-type"] == "image/png"
        assert listed["image_url"].endswith(f"/api/templates/{added['id']}/image")
        # SPEC §10: viewers do not download templates.
        error_of(await ops.viewer.get(f"/api/templates/{added['id']}/image"), 403, "forbidden")
        error_of(
            await ops.admin.get("/api/templates/00000000-0000-0000-0000-000000000001/image"),
            404,
            "not_found",
        )


async def test_uploads_that_are_not_images_or_too_large_are_refused(
    database_url: str, tmp_path: Path
) -> None:
    async with operators(database_url, tmp_path, max_upload_bytes=100_000) as ops:
        error_of(
            await ops.admin.post("/api/templates", **upload(b"%PDF-1.7 no image")),
            415,
            "unsupported_media_type",
        )
        error_of(
            await ops.admin.post("/api/templates", **upload(b"\x89PNG" + b"\0" * 150_000)),
            413,
            "payload_too_large",
        )
        error_of(
            await ops.admin.post("/api/templates", **upload(png_bytes(), label=None)),
            400,
            "invalid_request",
        )
        error_of(
            await ops.admin.post("/api/templates", data={"label": "x"}), 400, "invalid_request"
        )
        error_of(await ops.viewer.post("/api/templates", **upload(png_bytes())), 403, "forbidden")
        assert (await ops.admin.get("/api/templates")).json()["items"] == []


async def test_a_template_an_active_slot_uses_cannot_be_removed(
    database_url: str, tmp_path: Path
) -> None:
    async with operators(database_url, tmp_path) as ops:
        added = (await ops.admin.post("/api/templates", **upload(png_bytes()))).json()
        await ops.svc.configure(
            "slot-004",
            operation="overlay",
            settings={"overlay_template_id": added["id"]},
            is_active=True,
        )

        refused = await ops.admin.delete(f"/api/templates/{added['id']}")

        error = error_of(refused, 409, "conflict")
        assert error["details"]["slots"] == ["slot-004"]
        assert "slot-004" in error["message"]
        assert (await ops.admin.get(f"/api/templates/{added['id']}/image")).status_code == 200
        error_of(await ops.viewer.delete(f"/api/templates/{added['id']}"), 403, "forbidden")

        await ops.svc.configure("slot-004", is_active=False)
        removed = await ops.admin.delete(f"/api/templates/{added['id']}")
        assert removed.status_code == 204
        error_of(await ops.admin.get(f"/api/templates/{added['id']}/image"), 404, "not_found")
        error_of(await ops.admin.delete(f"/api/templates/{added['id']}"), 404, "not_found")
        actions = [e["action"] for e in (await ops.viewer.get("/api/audit")).json()["items"]]
        assert actions[0] == "template.remove" and "template.add" in actions
