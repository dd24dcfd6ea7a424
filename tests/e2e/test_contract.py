"""The contract run: generated requests to every operation of gateway/openapi.json, through the
gateway against the whole stack. Answers must have documented status codes, content types,
headers and schemas, and none may be a 5xx.

Bounded and repeatable: a few examples per operation, derandomized (the same requests every
run), no shrinking of failures (a failure is reported as found). Generated slugs, usernames and
comment ids almost never exist, so half of the requests that name one are pointed at things
that do: an article with a comment, and its author.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import positive_data_acceptance

from newsroom_devstack.gateway import openapi_path

from .conftest import Account, Client

pytestmark = pytest.mark.e2e

schema = schemathesis.openapi.from_path(str(openapi_path()))
schema.config.generation.update(
    # Like most HTTP APIs, the services ignore query parameters they do not know.
    allow_extra_parameters=True,
    # Every request carries the contract user's token; a missing or bad token is the
    # subject of the services' own tests, not of generated data.
    with_security_parameters=False,
)

# 21 operations x this many examples keeps the run near a minute on a 2-core machine.
EXAMPLES_PER_OPERATION = 40


@pytest.fixture(scope="session")
def contract_account(client: Client) -> Account:
    """The user whose token the generated requests carry."""
    return client.register("contract")


@dataclass(frozen=True)
class Existing:
    """What generated requests may name: an article, its author, a comment of the caller."""

    slug: str
    author: str
    comment_id: int


@pytest.fixture(scope="session")
def existing(client: Client, contract_account: Account) -> Existing:
    author = client.register("contract-author")
    article = {"title": "Contract run", "description": "d", "body": "b", "tagList": ["contract"]}
    slug = client.call("POST", "/api/articles", expect=201, as_=author, json={"article": article})[
        "article"
    ]["slug"]
    comment = client.call(
        "POST",
        f"/api/articles/{slug}/comments",
        expect=200,
        as_=contract_account,
        json={"comment": {"body": "generated requests may delete me"}},
    )["comment"]
    return Existing(slug=slug, author=author.username, comment_id=comment["id"])


def point_at_existing(case: schemathesis.Case[Any], existing: Existing) -> None:
    """Point every other request that names an article, user or comment at one that exists.

    Not for PUT and DELETE of the article itself: a new title moves its slug, and a delete
    would leave every later request a 404.
    """
    parameters = case.path_parameters or {}
    if not parameters or zlib.crc32(repr(sorted(parameters.items())).encode()) % 2:
        return
    if case.path == "/articles/{slug}" and case.method.upper() in {"PUT", "DELETE"}:
        return
    replacements = {"slug": existing.slug, "username": existing.author, "id": existing.comment_id}
    case.path_parameters = {
        name: replacements.get(name, value) for name, value in parameters.items()
    }


@pytest.fixture(scope="session")
def contract_session() -> requests.Session:
    return requests.Session()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)
def test_every_operation_answers_as_documented(
    case: schemathesis.Case[Any],
    client: Client,
    contract_account: Account,
    contract_session: requests.Session,
    existing: Existing,
) -> None:
    point_at_existing(case, existing)
    case.call_and_validate(
        base_url=f"{client.base_url}/api",
        session=contract_session,
        headers={"Authorization": f"Token {contract_account.token}"},
        timeout=15,
        # Schema-valid data may still be refused for rules no schema can say (a username
        # already taken, following yourself): those answers must conform, not be 2xx.
        excluded_checks=[positive_data_acceptance],
    )
