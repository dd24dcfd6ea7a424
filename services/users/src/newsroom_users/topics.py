"""Kafka topics the users service owns, with their partition counts."""

USERS_EVENTS = "users.events.v1"

TOPICS: dict[str, int] = {USERS_EVENTS: 6}
