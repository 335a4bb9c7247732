"""Claims: reading YAML, JSON and JSON Lines, validating them against a policy's input schema, converting facts."""
