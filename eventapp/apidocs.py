"""The API reference at /schema: Swagger UI served by eventapp itself, so it works offline.

Swagger UI's scripts and styles come from the `swagger-ui-bundle-v2` package (Apache-2.0, its
licence ships in the package) and are served under /schema/assets; the page and the script that
starts Swagger UI are ours, with no inline script, so the pages' policy allows 'self' only.
Litestar's own render plugins load everything from CDNs, and Scalar ships no offline bundle small
enough to vendor, so Swagger UI is the one reference page.
"""

from __future__ import annotations

from html import escape
from typing import Any

from litestar import Request, Response, Router
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.static_files import create_static_files_router
from swagger_ui_bundle import swagger_ui_path

from eventapp.routing import get

ASSETS = "/assets"

_STARTER = """\
window.addEventListener("DOMContentLoaded", () => {
  window.ui = SwaggerUIBundle({
    url: document.body.dataset.openapi,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
"""


class OfflineSwagger(OpenAPIRenderPlugin):
    """Swagger UI from files eventapp serves; nothing is fetched from another host."""

    def __init__(self, path: str = "/swagger", **kwargs: Any) -> None:
        super().__init__(path=path, favicon="", style="", **kwargs)

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        base = request.app.route_reverse("swagger_ui_starter").removesuffix("/swagger-start.js")
        title = escape(f"{openapi_schema['info']['title']} API reference")
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="{base}/favicon-32x32.png">
<link rel="stylesheet" href="{base}/swagger-ui.css">
</head>
<body data-openapi="{escape(self.get_openapi_json_route(request))}">
<main id="swagger-ui"></main>
<script src="{base}/swagger-ui-bundle.js"></script>
<script src="{base}/swagger-start.js"></script>
</body>
</html>
""".encode()

    def receive_router(self, router: Router) -> None:
        @get(f"{ASSETS}/swagger-start.js", name="swagger_ui_starter", include_in_schema=False)
        async def starter() -> Response[str]:
            return Response(_STARTER, media_type="text/javascript")

        router.register(starter)
        router.register(
            create_static_files_router(
                path=ASSETS,
                directories=[swagger_ui_path],
                include_in_schema=False,
                name="swagger_ui_assets",
            )
        )
