"""The contract run: generated requests to every operation of gateway/openapi.json, through the
gateway against the whole stack. Answers must have documented status codes, content types,
headers and schemas, and none may be a 5xx.

Bounded and repeatable: a few examples per operation, derandomized (the same requests every
run), no shrinking of failures (a failure is reported as found).
"""

from __future__ import annotations

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

# 19 operations x this many examples keeps the run near a minute on a 2-core machine.
EXAMPLES_PER_OPERATION = 40


@pytest.fixture(scope="session")
def contract_account(client: Client) -> Account:
    """The user whose token the generated requests carry."""
    return client.register("contract")


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
    case: schemathesis.Case,
    client: Client,
    contract_account: Account,
    contract_session: requests.Session,
) -> None:
    case.call_and_validate(
        base_url=f"{client.base_url}/api",
        session=contract_session,
        headers={"Authorization": f"Token {contract_account.token}"},
        timeout=15,
        # Schema-valid data may still be refused for rules no schema can say (a username
        # already taken, following yourself): those answers must conform, not be 2xx.
        excluded_checks=[positive_data_acceptance],
    )
