"""The stack ceilings' settings: the production settings, with two bench routes in front of the
product's own (bench.stack_ceiling_urls). DJANGO_SETTINGS_MODULE=bench.stack_ceiling."""

from missioncontrol.settings import *  # noqa: F403  (the production settings, two routes more)

ROOT_URLCONF = "bench.stack_ceiling_urls"
