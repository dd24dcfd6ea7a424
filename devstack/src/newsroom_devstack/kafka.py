"""A single-node Apache Kafka broker (KRaft mode) run from Maven Central jars cached in .cache/."""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from newsroom_devstack.kafka_python_fixes import KafkaAdminClient
from newsroom_devstack.kafka_python_fixes import errors as kafka_errors
from newsroom_devstack.net import LOOPBACK, free_port, port_is_free
from newsroom_devstack.paths import repo_root
from newsroom_devstack.supervisor import Process, StartupError, Supervisor

KAFKA_VERSION = "4.1.1"
JVM_OPTIONS = ("-Xms256m", "-Xmx512m", "-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true")
_TOPIC_ALREADY_EXISTS = 36


def kafka_dir() -> Path:
    """Return devstack/kafka: the pom listing the broker's jars and its logging config."""
    return repo_root() / "devstack" / "kafka"


def java_binary() -> str:
    """Return the java launcher (JAVA_HOME/bin/java, else java on PATH)."""
    if java_home := os.environ.get("JAVA_HOME"):
        candidate = Path(java_home) / "bin" / "java"
        if candidate.is_file():
            return str(candidate)
    if found := shutil.which("java"):
        return found
    raise StartupError(
        "Java not found: the local Kafka broker needs a Java 17+ runtime (Debian: apt-get install "
        "openjdk-17-jre-headless) or set JAVA_HOME; or use an external broker by setting "
        "KAFKA_BOOTSTRAP_SERVERS"
    )


def ensure_jars(cache: Path, *, log: Any = print) -> Path:
    """Return the folder of the broker's jars, copying them from Maven Central on first use."""
    pom = kafka_dir() / "pom.xml"
    # Absolute: Maven resolves relative paths against the pom's folder, not our cwd.
    cache = cache.resolve()
    home = cache / f"kafka-{KAFKA_VERSION}"
    libs = home / "libs"
    marker = home / "complete"
    # The marker holds the pom's digest: editing the pom (a version bump) fetches again.
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()
    if _marker_matches(marker, digest) and libs.is_dir():
        return libs
    home.mkdir(parents=True, exist_ok=True)
    with _exclusive(home / ".lock"):
        # Another process (a second pytest session) may have fetched them while we waited.
        if _marker_matches(marker, digest) and libs.is_dir():
            return libs
        mvn = shutil.which("mvn")
        if mvn is None:
            raise StartupError(
                "Maven (mvn) not found: it fetches the Kafka jars from Maven Central once "
                "(Debian: apt-get install maven); or use an external broker by setting "
                "KAFKA_BOOTSTRAP_SERVERS"
            )
        log(f"fetching Apache Kafka {KAFKA_VERSION} jars from Maven Central into {libs} (once)")
        partial = home / "libs.partial"
        shutil.rmtree(partial, ignore_errors=True)
        argv = [mvn, "-q", "-B", "-f", str(pom), f"-Dmaven.repo.local={cache / 'maven'}"]
        argv += ["dependency:copy-dependencies", f"-DoutputDirectory={partial}"]
        result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=900)
        if result.returncode != 0 or not any(partial.glob("kafka_2.13-*.jar")):
            raise StartupError(
                f"fetching the Kafka jars failed ({' '.join(argv)}):\n"
                f"{result.stdout}{result.stderr}"
            )
        shutil.rmtree(libs, ignore_errors=True)
        partial.rename(libs)
        marker.write_text(digest + "\n")
    return libs


def random_cluster_id() -> str:
    """Return a new cluster id, as kafka.tools.StorageTool random-uuid makes them."""
    while True:
        # Kafka's Uuid.toString: URL-safe base64 of 16 random bytes, unpadded; Kafka never hands
        # out one starting with "-" (it would read as a command-line option). No JVM start needed.
        cluster_id = base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


class KafkaBroker:
    """A single-node KRaft broker in <root>/kafka: formatted once, restarted on the same ports."""

    def __init__(
        self,
        root: Path,
        cache: Path,
        *,
        supervisor: Supervisor | None = None,
        port: int | None = None,
        controller_port: int | None = None,
    ) -> None:
        self.home = root.resolve() / "kafka"
        self.data_dir = self.home / "data"
        self.config_path = self.home / "server.properties"
        self.cache = cache.resolve()
        self.supervisor = supervisor if supervisor is not None else Supervisor(root)
        self.process_name = "kafka"
        self._state_path = self.home / "state.json"
        state = self._load_state()
        self.port: int = port or _reuse_port(state.get("port")) or free_port()
        self.controller_port: int = (
            controller_port
            or _reuse_port(state.get("controller_port"), avoid=self.port)
            or _free_port_except(self.port)
        )
        self.cluster_id: str = str(state.get("cluster_id") or random_cluster_id())

    @property
    def bootstrap_servers(self) -> str:
        """Return the bootstrap servers clients connect to."""
        return f"{LOOPBACK}:{self.port}"

    @property
    def process(self) -> Process:
        """Return the broker process."""
        return self.supervisor.process(self.process_name)

    def prepare(self) -> Path:
        """Fetch the jars if they are not cached yet; return their folder."""
        return ensure_jars(self.cache)

    def start(self, *, timeout: float = 90.0) -> None:
        """Start the broker (formatting its storage the first time) and wait until it answers."""
        self.start_server()
        self.wait_ready(timeout=timeout)

    def start_server(self) -> None:
        """Start the broker without waiting for it (a no-op while it runs)."""
        if self._registered() and self.process.is_running():
            return
        java = java_binary()
        libs = self.prepare()
        self.home.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(self._properties())
        self._save_state()
        classpath = f"{libs}/*"
        if not (self.data_dir / "meta.properties").is_file():
            self._format(java, classpath)
        argv = [java, *JVM_OPTIONS, f"-Dlog4j2.configurationFile={kafka_dir() / 'log4j2.yaml'}"]
        argv += ["-cp", classpath, "kafka.Kafka", str(self.config_path)]
        self.supervisor.start(self.process_name, argv, stop_timeout=30.0, tier=0)

    def wait_ready(self, *, timeout: float = 90.0) -> None:
        """Wait until an admin client can list the broker's topics."""
        self.process.wait_until(
            lambda: broker_answers(self.bootstrap_servers),
            what=f"Kafka answering on {self.bootstrap_servers}",
            timeout=timeout,
            interval=0.5,
        )

    def stop(self) -> None:
        """Stop the broker cleanly (SIGTERM, then SIGKILL after the grace period)."""
        if self._registered():
            self.process.stop()

    def kill(self) -> None:
        """Kill the broker at once (SIGKILL), as a crash would."""
        if self._registered():
            self.process.kill()

    def pause(self) -> None:
        """Freeze the broker (SIGSTOP): connections stay open, nothing answers."""
        self.process.pause()

    def resume(self) -> None:
        """Thaw a paused broker (SIGCONT)."""
        self.process.resume()

    def restart(self, *, timeout: float = 90.0) -> None:
        """Stop and start the broker on the same ports with the same data."""
        self.stop()
        self.start(timeout=timeout)

    def create_topics(self, specs: Mapping[str, int]) -> None:
        """Make sure each topic exists with at least the given partitions; idempotent."""
        create_topics(self.bootstrap_servers, specs, replication_factor=1)

    def _format(self, java: str, classpath: str) -> None:
        shutil.rmtree(self.data_dir, ignore_errors=True)
        argv = [java, "-Xmx256m", "-cp", classpath, "kafka.tools.StorageTool", "format"]
        # No --standalone: the single voter is fixed in controller.quorum.voters instead.
        argv += ["-t", self.cluster_id, "-c", str(self.config_path)]
        result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
        if result.returncode != 0:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            raise StartupError(f"formatting Kafka storage failed:\n{result.stdout}{result.stderr}")

    def _properties(self) -> str:
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{LOOPBACK}:{self.controller_port}",
            "listeners": f"PLAINTEXT://{LOOPBACK}:{self.port},"
            f"CONTROLLER://{LOOPBACK}:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{LOOPBACK}:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": str(self.data_dir),
            # One broker: every internal topic must make do with one replica.
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            # Fewer offsets partitions than the default 50: the first consumer group starts faster.
            "offsets.topic.num.partitions": "10",
            # Consumers of a test join at once; waiting 3 s for more members only slows tests.
            "group.initial.rebalance.delay.ms": "0",
            # Topics are declared by their owners (topics.TOPICS); a typo must fail, not create.
            "auto.create.topics.enable": "false",
            "num.partitions": "1",
            "num.network.threads": "2",
            "num.io.threads": "2",
        }
        header = "# Written by newsroom-devstack at every start; edits are overwritten.\n"
        return header + "".join(f"{key}={value}\n" for key, value in props.items())

    def _registered(self) -> bool:
        return any(p.name == self.process_name for p in self.supervisor.processes())

    def _load_state(self) -> dict[str, Any]:
        try:
            state: dict[str, Any] = json.loads(self._state_path.read_text())
        except (OSError, ValueError):
            return {}
        return state

    def _save_state(self) -> None:
        state = {
            "port": self.port,
            "controller_port": self.controller_port,
            "cluster_id": self.cluster_id,
        }
        self._state_path.write_text(json.dumps(state) + "\n")


class ExternalKafka:
    """A broker the developer runs (KAFKA_BOOTSTRAP_SERVERS): used, never started or stopped."""

    def __init__(self, bootstrap_servers: str) -> None:
        self._bootstrap_servers = bootstrap_servers

    @property
    def bootstrap_servers(self) -> str:
        """Return the bootstrap servers clients connect to."""
        return self._bootstrap_servers

    def start_server(self) -> None:
        """Do nothing: the broker is not ours to start."""

    def start(self, *, timeout: float = 90.0) -> None:
        """Check that the external broker answers (it is not ours to start)."""
        self.wait_ready(timeout=timeout)

    def wait_ready(self, *, timeout: float = 90.0) -> None:
        """Check that the external broker answers."""
        if not broker_answers(self._bootstrap_servers, timeout=timeout):
            raise StartupError(f"the Kafka broker at {self._bootstrap_servers} does not answer")

    def create_topics(self, specs: Mapping[str, int]) -> None:
        """Make sure each topic exists with at least the given partitions; idempotent."""
        # The cluster's default.replication.factor applies: it may have several brokers.
        create_topics(self._bootstrap_servers, specs, replication_factor=-1)

    def stop(self) -> None:
        """Refuse: the devstack never stops a broker it did not start."""
        raise self._not_ours("stop")

    def kill(self) -> None:
        """Refuse: the devstack never kills a broker it did not start."""
        raise self._not_ours("kill")

    def pause(self) -> None:
        """Refuse: the devstack never pauses a broker it did not start."""
        raise self._not_ours("pause")

    def resume(self) -> None:
        """Refuse: the devstack never resumes a broker it did not start."""
        raise self._not_ours("resume")

    def restart(self) -> None:
        """Refuse: the devstack never restarts a broker it did not start."""
        raise self._not_ours("restart")

    def _not_ours(self, action: str) -> RuntimeError:
        return RuntimeError(
            f"cannot {action} the external broker {self._bootstrap_servers} "
            "(KAFKA_BOOTSTRAP_SERVERS is set); unset it to test against a local broker"
        )


Broker = KafkaBroker | ExternalKafka


def kafka_from_env(root: Path, cache: Path, *, supervisor: Supervisor) -> Broker:
    """Return the broker named by KAFKA_BOOTSTRAP_SERVERS, else a local one."""
    if bootstrap_servers := os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        return ExternalKafka(bootstrap_servers)
    return KafkaBroker(root, cache, supervisor=supervisor)


@contextlib.contextmanager
def admin_client(bootstrap_servers: str, *, timeout: float = 10.0) -> Iterator[KafkaAdminClient]:
    """Yield a connected admin client, closed on the way out."""
    client = KafkaAdminClient.__new__(KafkaAdminClient)
    try:
        client.__init__(
            bootstrap_servers=bootstrap_servers,
            client_id="newsroom-devstack",
            bootstrap_timeout_ms=int(timeout * 1000),
            request_timeout_ms=int(max(timeout, 5.0) * 1000),
        )
    except BaseException:
        # The constructor starts an I/O thread before it bootstraps; when bootstrapping fails
        # nobody gets an object to close, so the thread and its sockets would leak.
        if hasattr(client, "_net"):
            client._closed = False
            client.close()
        raise
    try:
        yield client
    finally:
        client.close()


def broker_answers(bootstrap_servers: str, *, timeout: float = 3.0) -> bool:
    """Tell whether the broker lists its topics within timeout."""
    # A refused TCP connection answers at once; only then is an admin client worth building.
    if not any(_accepts_tcp(server, timeout) for server in bootstrap_servers.split(",")):
        return False
    try:
        with admin_client(bootstrap_servers, timeout=timeout) as client:
            client.list_topics()
    except (kafka_errors.KafkaError, OSError):
        return False
    return True


def create_topics(
    bootstrap_servers: str,
    specs: Mapping[str, int],
    *,
    replication_factor: int,
    timeout: float = 30.0,
) -> None:
    """Create missing topics and grow those with fewer partitions than asked; idempotent."""
    if not specs:
        return
    with admin_client(bootstrap_servers, timeout=timeout) as client:
        existing = set(client.list_topics())
        missing = {
            name: {"num_partitions": partitions, "replication_factor": replication_factor}
            for name, partitions in specs.items()
            if name not in existing
        }
        if missing:
            result = client.create_topics(missing, raise_errors=False)
            for topic in result["topics"]:
                code = topic["error_code"]
                # Already there means another process won the race: fine, that is the goal.
                if code not in (0, _TOPIC_ALREADY_EXISTS):
                    error = kafka_errors.for_code(code)
                    raise StartupError(f"creating topic {topic['name']} failed: {error.__name__}")
        present = [name for name in specs if name in existing]
        if present:
            # Kafka cannot shrink a topic; it can grow one whose owner now asks for more.
            grow = {
                t["name"]: specs[t["name"]]
                for t in client.describe_topics(present)
                if len(t["partitions"]) < specs[t["name"]]
            }
            if grow:
                client.create_partitions(grow)
        client.wait_for_topics(list(specs), timeout_ms=int(timeout * 1000))


def _accepts_tcp(server: str, timeout: float) -> bool:
    host, _, port = server.strip().rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            return True
    except (OSError, ValueError):
        return False


def _marker_matches(marker: Path, digest: str) -> bool:
    try:
        return marker.read_text().strip() == digest
    except OSError:
        return False


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    with lock_path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _reuse_port(port: Any, *, avoid: int | None = None) -> int | None:
    if isinstance(port, int) and port != avoid and port_is_free(port):
        return port
    return None


def _free_port_except(taken: int) -> int:
    while (port := free_port()) == taken:
        pass
    return port
