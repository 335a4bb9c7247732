"""The decision service (`policy serve`): an HTTP API over engine.api, every decision in the log of engine.db."""
