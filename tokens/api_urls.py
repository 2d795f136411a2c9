"""Token endpoints of the REST API v1: /auth/tokens/[<id>/]."""

from rest_framework.routers import SimpleRouter

from tokens import api

router = SimpleRouter(use_regex_path=False)
router.register("auth/tokens", api.ApiTokenViewSet, basename="token")

urlpatterns = router.urls
