#!/bin/bash
# Start a single-node KRaft broker: write server.properties from the KAFKA_* variables (the
# official apache/kafka image's convention: KAFKA_LOG_DIRS -> log.dirs, "__" -> "_",
# "___" -> "-"), format the log dir with CLUSTER_ID once, then run kafka.Kafka.
set -euo pipefail

: "${CLUSTER_ID:?CLUSTER_ID must be set (kafka-storage random-uuid makes one)}"
: "${KAFKA_LOG_DIRS:?KAFKA_LOG_DIRS must name the data directory (on a volume)}"
config_dir="${KAFKA_CONFIG_DIR:-/tmp/kafka-config}"
mkdir -p "$config_dir"
properties="$config_dir/server.properties"

# Variables of the JVM and of this script, not broker settings.
not_settings=" KAFKA_HEAP_OPTS KAFKA_JVM_PERFORMANCE_OPTS KAFKA_OPTS KAFKA_CONFIG_DIR "
{
    echo "# Written by newsroom-kafka-entrypoint from the KAFKA_* environment at start."
    while IFS='=' read -r name value; do
        case "$not_settings" in *" $name "*) continue ;; esac
        key="${name#KAFKA_}"
        key="${key,,}"
        key="${key//___/-}"
        key="${key//__/@}"
        key="${key//_/.}"
        echo "${key//@/_}=$value"
    done < <(env | grep -E '^KAFKA_[A-Z0-9_]+=' | sort)
} >"$properties"

classpath="/opt/kafka/libs/*"
read -r -a heap <<<"${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
jvm=(java "${heap[@]}" -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true
    -Dlog4j2.configurationFile=/opt/kafka/log4j2.yaml -cp "$classpath")

if [ ! -f "$KAFKA_LOG_DIRS/meta.properties" ]; then
    echo "formatting $KAFKA_LOG_DIRS for cluster $CLUSTER_ID"
    "${jvm[@]}" kafka.tools.StorageTool format -t "$CLUSTER_ID" -c "$properties"
fi
exec "${jvm[@]}" kafka.Kafka "$properties"
