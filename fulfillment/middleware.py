"""Response headers every page of the app gets."""

from __future__ import annotations

from django.utils.cache import add_never_cache_headers


class NoStoreMiddleware:
    """``Cache-Control: no-store`` (and no-cache, private) on every page the app renders.

    Pages behind the login show orders, customers and their addresses; store devices are shared, so no browser or
    proxy may keep a copy (the Back button after logging out must not show them). Static files are served by WhiteNoise
    before this middleware and keep their long-lived caching.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        add_never_cache_headers(response)
        return response
