"""Kafka topics the articles service owns, with their partition counts, and what it consumes."""

ARTICLES_EVENTS = "articles.events.v1"
ARTICLES_VIEWS = "articles.views.v1"
ARTICLES_DLT = "articles.dlt.v1"

TOPICS: dict[str, int] = {ARTICLES_EVENTS: 6, ARTICLES_VIEWS: 12, ARTICLES_DLT: 3}

# Owned by users; the articles service keeps a replica of profiles and follows from it.
USERS_EVENTS = "users.events.v1"
USERS_REPLICA_GROUP = "articles-users-replica"
# Groups of ours that promise read-your-writes of follows (the feed reads this replica
# alone): whoever composes the platform hands them to users (USERS_FOLLOW_READERS), which
# answers a follow once they have applied it.
FOLLOW_READERS: tuple[str, ...] = (USERS_REPLICA_GROUP,)
