"""The console's Content-Security-Policy: only this origin's scripts, never inline ones."""

from __future__ import annotations

from entrypoints.http.console.pages import content_security_policy


def _directives(policy: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in policy.split("; ")}


def test_scripts_and_connections_come_from_this_origin_only() -> None:
    directives = _directives(content_security_policy(None))
    assert directives["script-src"] == ["'self'"]
    assert directives["connect-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["img-src"] == ["'self'", "blob:", "data:"]
    assert not any("unsafe" in value for values in directives.values() for value in values)


def test_result_images_may_come_from_the_public_base_url() -> None:
    policy = content_security_policy("https://photos.example.com/booth")
    assert _directives(policy)["img-src"][-1] == "https://photos.example.com"
