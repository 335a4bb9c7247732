"""Prometheus metrics: requests, their latency, decisions by outcome, failed log writes, reloads.

With --workers N each worker process counts its own requests (a scrape reaches one of them).
"""
from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

disable_created_metrics()  # *_created series double the text for nothing a dashboard uses


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Counter("policy_http_requests", "HTTP requests answered", ["method", "route", "status"],
                                registry=self.registry)
        self.latency = Histogram("policy_http_request_duration_seconds", "Time to answer a request",
                                 ["route"], registry=self.registry,
                                 buckets=(.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
        self.decisions = Counter("policy_decisions", "Decisions made and logged", ["outcome"], registry=self.registry)
        self.log_failures = Counter("policy_decision_log_write_failures", "Decisions that could not be logged "
                                    "(and were therefore not given)", registry=self.registry)
        self.reloads = Counter("policy_reloads", "Policy reloads", ["result"], registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def middleware(self, app):
        """An ASGI middleware counting every HTTP request by its route (the path template, not the path)."""
        async def counted(scope, receive, send):
            if scope["type"] != "http":
                return await app(scope, receive, send)
            started = time.perf_counter()
            status = [500]

            async def watch(message):
                if message["type"] == "http.response.start":
                    status[0] = message["status"]
                await send(message)

            try:
                await app(scope, receive, watch)
            finally:
                route = getattr(scope.get("route"), "path", None) or "(no route)"  # a label, the same in every language
                self.requests.labels(scope["method"], route, str(status[0])).inc()
                self.latency.labels(route).observe(time.perf_counter() - started)

        return counted
