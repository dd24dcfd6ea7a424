"""What `vulture` (make lint) cannot see being used, each with the reason it is alive.

vulture counts a name as used when it appears here. Framework entry points it can tell by
decorator or name are in pyproject.toml ([tool.vulture]); this file is for the rest.
"""

from typing import Any

_: Any = None

# Called by their libraries, never by our code.
_.__call__  # consumer.BatchHandler: a protocol's call signature
_.on_partitions_revoked  # kafka-python's ConsumerRebalanceListener (consumer._Assignments)
_.on_partitions_assigned  # idem
_.should_sample  # OpenTelemetry's Sampler interface (telemetry)
_.get_description  # idem
_.parent_context  # its signature, fixed by the interface
_.trace_state  # idem
_.regex  # werkzeug converter attributes (articles entrypoints/blueprint_helpers.py)
_.part_isolating  # idem
_.strict_slashes  # werkzeug's Rule attribute, set on every rule (web.py)
_.frame  # signal handlers' fixed signature (devstack cli)
_.proxy  # SQLAlchemy's "checkout" event signature (db.py)
_._closed  # kafka-python's client flag, set so a half-built client can be closed (devstack)

# Alembic reads these module names of every migration.
_.down_revision
_.branch_labels
_.depends_on

# Flask's `g`: set by name, read back with g.pop("...") or g.get("...").
_.metrics_started
_.request_token
_.request_started
_.trace_token

# Declared so OTEL_EXPORTER_OTLP_ENDPOINT is a known variable; telemetry reads it from the
# environment before any settings exist (tests/repository/test_settings_read.py).
_.otel_exporter_otlp_endpoint

# pytest fixtures requested for their effect only (a stopped service, a paused consumer).
_.users_down
_.replica_paused
_.restored_sources

# kafka-python's coordinator flags, set by newsroom_common.kafka_join_fix as kafka-python's
# own join_group_async does, and read by kafka-python.
_.rejoining
_.rejoin_needed
