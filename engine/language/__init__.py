"""The expression language: grammar, syntax tree, parser, printer, types, built-in functions, checker, compiler."""
