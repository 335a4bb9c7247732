"""`python -m engine.lsp [--policies DIR] [--schemas DIR] [--lang zh|en]`: the language server on stdio, as
`policy lsp` (the same command: a folder that is not there, or an option it does not know, is refused alike, exit 64
with a message in the chosen language)."""
import sys

from engine.cli.main import main

GLOBAL = ("--policies", "--schemas", "--lang")  # the `policy` command's own options, given before `lsp`
given, rest = [], []
args = iter(sys.argv[1:])
for arg in args:
    if arg in GLOBAL:
        given += [arg, next(args, "")]
    elif arg.startswith(tuple(option + "=" for option in GLOBAL)):
        given.append(arg)
    else:
        rest.append(arg)
sys.exit(main([*given, "lsp", *rest]))
