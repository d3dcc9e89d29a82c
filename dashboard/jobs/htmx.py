"""The one way a page polls a job's fragment."""

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_htmx.http import HttpResponseStopPolling

from dashboard.htmx import vary
from dashboard.jobs.models import Job
from dashboard.jobs.runner import job_expire_if_stale


def job_poll_response(
    request: HttpRequest,
    job: Job,
    *,
    template: str,
    context: Callable[[], dict[str, Any]],
) -> HttpResponse:
    """Render `template` for `job`, ending HTMX polling once the job has finished.

    The stale rule is applied first, so a job whose worker died, or that no worker picked up,
    ends here with a message saying so instead of being polled forever. `context` is called
    after that, so it sees the job's settled state. The template polls while the job is
    active (and slower once `job.is_unclaimed`); a polling GET of a finished job answers
    HTTP 286, which stops htmx's `every` trigger.
    """
    job_expire_if_stale(job)
    response = render(request, template, context())
    if job.is_finished and request.htmx and request.method == "GET":
        response.status_code = HttpResponseStopPolling.status_code
    return vary(response)
