"""Prometheus metrics, on a registry of the app's own (several apps may live in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "ticket_stages_http_requests_total",
            "HTTP requests by route and status",
            ["route", "status"],
            registry=self.registry,
        )
        self.graphql_operations = Counter(
            "ticket_stages_graphql_operations_total",
            "GraphQL operations by name, type and outcome",
            ["operation", "type", "outcome"],
            registry=self.registry,
        )
        self.graphql_latency = Histogram(
            "ticket_stages_graphql_operation_seconds",
            "GraphQL operation latency by name and type",
            ["operation", "type"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.live_subscriptions = Gauge(
            "ticket_stages_live_subscriptions",
            "GraphQL subscriptions open on this process",
            ["field"],
            registry=self.registry,
        )
        self.sweep_results = Counter(
            "ticket_stages_sweep_tickets_total",
            "Tickets acted on by the background sweep",
            ["action"],
            registry=self.registry,
        )
        self.sweep_errors = Counter(
            "ticket_stages_sweep_errors_total",
            "Background passes that failed (and were retried)",
            ["job"],
            registry=self.registry,
        )
        self.bus_reconnects = Counter(
            "ticket_stages_bus_reconnects_total",
            "Times the event bus listener reconnected",
            registry=self.registry,
        )
        self.bus_published = Counter(
            "ticket_stages_bus_published_total",
            "Events handed to the bus backend (Redis or in-process)",
            registry=self.registry,
        )
        self.bus_dropped = Counter(
            "ticket_stages_bus_dropped_total",
            "Events the bus dropped, by reason (superseded, outbox_full, overflow, ...)",
            ["reason"],
            registry=self.registry,
        )
        self.bus_subscribers = Gauge(
            "ticket_stages_bus_subscribers",
            "Local subscriber queues of the bus on this process",
            registry=self.registry,
        )
        self.live_counts_reads = Counter(
            "ticket_stages_live_counts_reads_total",
            "Snapshot reads of the live stage-counts feeds (one per burst, not per subscriber)",
            registry=self.registry,
        )
        self.live_messages = Counter(
            "ticket_stages_live_messages_total",
            "stageCounts subscription messages, by how they were sent (graphql or direct)",
            ["path"],
            registry=self.registry,
        )
        self.bus_publish_failures = Counter(
            "ticket_stages_bus_publish_failures_total",
            "Event publishes that failed and were kept for a retry",
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
