"""Kafka topics the views service owns, with their partition counts, and what it consumes."""

VIEWS_DLT = "views.dlt.v1"

TOPICS: dict[str, int] = {VIEWS_DLT: 3}

# Owned by articles and users; the views service only reads them.
ARTICLES_VIEWS = "articles.views.v1"
ARTICLES_EVENTS = "articles.events.v1"
USERS_EVENTS = "users.events.v1"

INGEST_GROUP = "views-ingest"
ARTICLES_REPLICA_GROUP = "views-articles-replica"
USERS_REPLICA_GROUP = "views-users-replica"
