from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from aiops import ops

urlpatterns = [
    path("healthz", ops.healthz, name="healthz"),
    path("readyz", ops.readyz, name="readyz"),
    path("metrics", ops.metrics, name="metrics"),
    # The operator's dashboard (apps.console), before the admin's own catch-all patterns.
    path("admin/dashboard/", include("apps.console.urls")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api-auth/", include("rest_framework.urls")),
    path("", include("apps.cases.api.urls")),
    path("", include("apps.planner.api.urls")),
    path("", include("apps.gate.api.urls")),
    path("", include("apps.executor.api.urls")),
    path("", include("apps.verifier.api.urls")),
    path("", include("apps.sensor.api.urls")),
    path("", include("apps.analyst.api.urls")),
    path("", include("apps.kb.api.urls")),
]

handler404 = "aiops.ops.not_found"
handler500 = "aiops.ops.server_error"
