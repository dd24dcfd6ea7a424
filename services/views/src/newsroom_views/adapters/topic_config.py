"""What a topic's configuration says about how long its records can be read again."""

from __future__ import annotations

import datetime as dt

from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

from newsroom_common.kafka_clients import bootstrap_list


def redelivery_horizon(bootstrap_servers: str, topic: str) -> dt.timedelta | None:
    """retention.ms + segment.ms of `topic`; None when records are kept forever.

    A record is deleted only with its segment, which closes after segment.ms, so it can
    outlive retention.ms by that much. A group whose committed offsets expired restarts
    from the earliest record and may read anything still there.
    """
    admin = KafkaAdminClient(bootstrap_servers=bootstrap_list(bootstrap_servers))
    try:
        found = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic, configs=None)], config_filter="all"
        )
    finally:
        admin.close()
    config = found["topic"][topic]
    retention_ms = int(config["retention.ms"]["value"])
    if retention_ms < 0:
        return None
    return dt.timedelta(milliseconds=retention_ms + int(config["segment.ms"]["value"]))


class KafkaTopicRetention:
    """The views topic's redelivery horizon, read from the broker (ports.TopicRetention)."""

    def __init__(self, bootstrap_servers: str, topic: str) -> None:
        self._bootstrap_servers = bootstrap_servers
        self._topic = topic

    def redelivery_horizon(self) -> dt.timedelta | None:
        """retention.ms + segment.ms of the topic; None when records are kept forever."""
        return redelivery_horizon(self._bootstrap_servers, self._topic)
