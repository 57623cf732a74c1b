"""Pagination for every list endpoint: limit/offset with a hard ceiling on the page size."""

from django.conf import settings
from rest_framework.pagination import LimitOffsetPagination


class StandardPagination(LimitOffsetPagination):
    default_limit = 50

    @property
    def max_limit(self) -> int:  # read per request so tests can override the setting
        return settings.API_MAX_PAGE_SIZE
