"""The `policy` command line: a thin layer over engine.api."""
