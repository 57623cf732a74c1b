"""GET /favicon.ico: browsers and tools ask for it whatever a page links; the SVG answers."""

from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.views.decorators.cache import cache_control


@cache_control(max_age=86400, public=True)
def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    # Resolved per request: with the manifest storage, static() needs collectstatic to have run.
    return HttpResponsePermanentRedirect(static("favicon.svg"))
