"""Policy files: YAML with positions, the policy-file model and reader, the version store, its cache, linking."""
