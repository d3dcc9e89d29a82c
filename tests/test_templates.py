"""The project's templates hold no code a Content-Security-Policy without 'unsafe-inline' or
'unsafe-eval' would block (see dashboard/middleware.py)."""

import re
from pathlib import Path

import pytest
from django.conf import settings

TEMPLATES = sorted((Path(settings.BASE_DIR) / "templates").rglob("*.html"))

FORBIDDEN = {
    "an inline <script> body": re.compile(r"<script\b[^>]*>\s*[^<\s]", re.IGNORECASE),
    "an event handler attribute (on...=)": re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE),
    "hx-on (evaluated by htmx)": re.compile(r"\b(?:data-)?hx-on", re.IGNORECASE),
    "a style attribute": re.compile(r"<[^>]*\sstyle\s*=", re.IGNORECASE),
    "a <style> element": re.compile(r"<style\b", re.IGNORECASE),
    "a javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
    "js: values (evaluated by htmx)": re.compile(r"hx-(?:vals|headers)=[\"']\s*(?:js|javascript):"),
    "hx-vars (evaluated by htmx)": re.compile(r"\bhx-vars\b"),
    "an event filter in hx-trigger (evaluated by htmx)": re.compile(r"hx-trigger=\"[^\"]*\["),
}


def test_the_templates_are_found():
    assert len(TEMPLATES) > 20


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(settings.BASE_DIR)))
def test_a_template_has_no_inline_code(template):
    text = template.read_text(encoding="utf-8")
    found = [what for what, pattern in FORBIDDEN.items() if pattern.search(text)]
    assert found == [], f"{template.name} has {', '.join(found)}"
