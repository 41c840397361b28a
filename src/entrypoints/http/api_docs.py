"""The API reference at ``/schema``, usable without internet.

Litestar's default pages load their scripts and fonts from CDNs, so on a booth network without
internet ``/schema`` stays blank. Here Swagger UI's files come from the ``swagger-ui-py``
package (a Swagger UI 5 build, which reads OpenAPI 3.1) and are served by this app under
``/schema/static``; the page itself embeds the schema, so it needs nothing from outside.
``/schema/openapi.json`` and ``/schema/openapi.yaml`` stay where clients expect them.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from litestar import Router
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin, YamlRenderPlugin
from litestar.static_files import create_static_files_router

SCHEMA_PATH = "/schema"
ASSETS_PATH = f"{SCHEMA_PATH}/static"


def swagger_ui_files() -> Path:
    """Swagger UI's static files as the ``swagger-ui-py`` package ships them (found without
    importing the package, which would load its framework adapters for nothing)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the swagger-ui-py package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


class OfflineSwaggerUI(SwaggerRenderPlugin):
    """Swagger UI at ``/schema`` (and ``/schema/swagger``) with its files served locally."""

    def __init__(self) -> None:
        super().__init__(
            path=["/", "/swagger"],
            js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            css_url=f"{ASSETS_PATH}/swagger-ui.css",
            standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
            favicon=f"<link rel='icon' type='image/png' href='{ASSETS_PATH}/favicon-32x32.png'>",
        )

    def receive_router(self, router: Router) -> None:
        super().receive_router(router)
        router.register(
            create_static_files_router(
                path="/static",
                directories=[swagger_ui_files()],
                name="api_docs_static",
                include_in_schema=False,
            )
        )


def openapi_config(title: str, version: str) -> OpenAPIConfig:
    return OpenAPIConfig(
        title=title,
        version=version,
        path=SCHEMA_PATH,
        render_plugins=[OfflineSwaggerUI(), JsonRenderPlugin(), YamlRenderPlugin()],
    )
