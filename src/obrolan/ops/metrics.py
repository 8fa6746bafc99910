"""Prometheus metrics, one registry per running app (so tests can run several)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.open_connections = Gauge(
            "obrolan_open_connections", "Open WebSocket connections", registry=self.registry
        )
        self.messages_sent = Counter(
            "obrolan_messages_sent", "Messages committed", registry=self.registry
        )
        self.send_to_commit = Histogram(
            "obrolan_send_to_commit_seconds",
            "Time from a send request to its commit",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self.write_batch_size = Histogram(
            "obrolan_message_write_batch_size",
            "Messages committed per write transaction",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
            registry=self.registry,
        )

        # Set from one query each time /metrics is scraped (see ops.api).
        self.jobs = Gauge(
            "obrolan_jobs",
            "Background jobs not finished, by state",
            ["state"],
            registry=self.registry,
        )
        self.jobs_oldest_due_age = Gauge(
            "obrolan_jobs_oldest_due_age_seconds",
            "How long the oldest job that is due to run has waited",
            registry=self.registry,
        )

        # The stream as this process sees it: how far the database has committed, and how
        # far this node has handed events to its sockets. On several nodes the difference
        # is the broker's lag (docs/operations.md, What to watch).
        self.stream_committed = Gauge(
            "obrolan_stream_committed_position",
            "Newest committed stream position",
            registry=self.registry,
        )
        self.stream_delivered = Gauge(
            "obrolan_stream_delivered_position",
            "Newest stream position this process has handed to its sockets",
            registry=self.registry,
        )
        self.broker_catch_ups = Counter(
            "obrolan_broker_catch_ups",
            "Times this node read from the database events the broker did not bring",
            registry=self.registry,
        )

        # R13: open data requests past their legal deadline, counted from the database
        # when /metrics is scraped, so every node says the same (docs/operations.md).
        self.privacy_requests_overdue = Gauge(
            "obrolan_privacy_requests_overdue",
            "Open data requests past their deadline",
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
