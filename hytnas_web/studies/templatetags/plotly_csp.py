"""``{% plotly_style_guards %}``: what keeps plotly.js from adding a ``<style>`` block the policy refuses.

On load, plotly.min.js appends its map library's stylesheet (maplibre) as an inline ``<style>``
element, unless the page already holds an element with that stylesheet's id. The site draws no
maps, so pages that load plotly.js place an empty ``<template>`` with that id before it and the
stylesheet is never added: the Content-Security-Policy needs no ``'unsafe-inline'`` for it. The id
is read from the installed plotly.min.js, so it follows a plotly upgrade.
"""

from __future__ import annotations

import re
from functools import cache

from django import template
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

from hytnas_web.lib.plotly_assets import plotly_js

register = template.Library()

_GUARDED_STYLE = re.compile(
    rb'getElementById\("(?P<id>[0-9a-f]{64})"\)\)\{var \w+=document\.createElement\("style"\)'
)


@cache
def guarded_style_ids() -> tuple[str, ...]:
    """Ids of the ``<style>`` elements plotly.js adds on load only when no element has the id yet."""
    _, file = plotly_js()
    return tuple(match.decode() for match in _GUARDED_STYLE.findall(file.read_bytes()))


@register.simple_tag
def plotly_style_guards() -> SafeString:
    """One empty ``<template id=...>`` per stylesheet plotly.js would otherwise inject."""
    return format_html_join("", '<template id="{}"></template>', ((i,) for i in guarded_style_ids()))
