"""Every operation of the spec has a page: its documentation and a form to call it."""

import html

import pytest
from django.test import Client
from django.urls import reverse

from integrations.threecx.operations.catalogue import operations

pytestmark = pytest.mark.django_db

#: The operations in slices, so that a parallel run can spread them over its workers.
SLICES = 6


@pytest.mark.parametrize("part", range(SLICES), ids=lambda part: f"slice-{part + 1}")
def test_every_operation_page_renders_with_its_documentation_and_form(
    client: Client, admin, organization, connection, part
):
    client.force_login(admin)
    for operation in list(operations().values())[part::SLICES]:
        url = reverse("console_operation", args=[organization.pk, connection.pk, operation.id])
        response = client.get(url)
        assert response.status_code == 200, operation.id
        page = html.unescape(response.text)
        assert f"<h1>{operation.id}</h1>" in page, operation.id
        assert f'method-{operation.method.lower()}">{operation.method}</span> <code>' in page
        assert f"<code>{operation.path}</code>" in page, operation.id
        assert 'id="console-form"' in page, operation.id
        assert ('name="body"' in page) == (operation.body_schema is not None), operation.id
        for parameter in operation.parameters:
            assert f'name="{parameter.name}"' in page, (operation.id, parameter.name)
