"""The XAPI console: one row per operation called on a PBX, which the page polls and the
connection's history lists."""

import json
from typing import Any

from django.db import models

from dashboard.jobs.models import Job
from integrations.threecx import crypto


class JSONTextField(models.TextField):
    """JSON kept as its text, in the order it came: PostgreSQL's jsonb would reorder every
    object's keys (shortest first), and an answer, a body or a query string is shown as the
    PBX sent it or as it was sent. Nothing queries inside these values."""

    def from_db_value(self, value: str | None, expression, connection) -> Any:
        return None if value is None else json.loads(value)

    def to_python(self, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    def get_prep_value(self, value: Any) -> str | None:
        return None if value is None else json.dumps(value, ensure_ascii=False)

    def value_to_string(self, obj: models.Model) -> str:
        return self.get_prep_value(self.value_from_object(obj)) or ""


class XapiCall(Job):
    """One operation sent to a connection, and what it answered.

    What may hold secrets is kept so that nobody reads them by accident: the body as typed is
    encrypted (`body_typed()`, for "call again" by those allowed to see it), and the body and
    the answer are kept with every secret property masked for display.
    """

    connection = models.ForeignKey(
        "threecx.ThreeCXConnection", on_delete=models.CASCADE, related_name="xapi_calls"
    )
    operation_id = models.CharField(max_length=200)
    method = models.CharField(max_length=8)
    #: As sent, relative to /xapi/v1, its key rendered: "/Users(5)".
    path = models.TextField()
    #: The query string as sent: {"$top": "10"}.
    query = JSONTextField(default=dict, blank=True)
    #: The path and query parameters as typed (those given), for "call again".
    params = JSONTextField(default=dict, blank=True)
    #: The JSON body as typed, encrypted; empty for none.
    body_encrypted = models.TextField(blank=True)
    #: The parsed body with its secrets masked; None for none.
    body_masked = JSONTextField(null=True, blank=True)
    is_write = models.BooleanField(default=False)
    #: Where the request came from (None from the shell): a write's activity entry, written
    #: by the worker when it ends, says so as entries written during a request do.
    requested_from = models.GenericIPAddressField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    #: The answer's headers that matter (Content-Type, Location, X-3CX-Version...).
    response_headers = JSONTextField(default=dict, blank=True)
    elapsed_ms = models.PositiveIntegerField(null=True, blank=True)
    #: The answer's JSON, secrets masked; None when there was none (204), it was not JSON or
    #: it was too big to keep (`answer_note` says which).
    answer = JSONTextField(null=True, blank=True)
    answer_note = models.TextField(blank=True)
    answer_bytes = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta(Job.Meta):
        verbose_name = "XAPI call"
        indexes = [
            models.Index(fields=["connection", "-created_at"], name="console_call_history"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} on {self.connection_id} ({self.status})"

    @property
    def is_read(self) -> bool:
        return not self.is_write

    @property
    def query_text(self) -> str:
        """The query as people read it: "$top=10&$select=Id,Number" (the URL encodes it)."""
        return "&".join(f"{name}={value}" for name, value in self.query.items())

    def body_typed(self) -> str:
        """The body as it was typed ("" for none). Writes' bodies are for admins only."""
        return crypto.decrypt(self.body_encrypted) if self.body_encrypted else ""
