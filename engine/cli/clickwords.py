"""Click's own words in the chosen language: "Usage:", "Options", "Error: No such option '--x'.", "Try 'policy
check -h' for help." and the rest of what click says about a command line.

Click looks its messages up with gettext (its modules call `_(...)` and `ngettext(...)` from the standard
library, in gettext's global domain, which the engine does not use). `install()` points those two names in
click's modules at the engine's catalogue, so that click speaks the language --lang or the locale chose, as
every other message does. WORDS lists click's templates for Babel to extract into engine/locale/policy.pot;
tests/test_messages.py fails when the installed click has a template that is not here.
"""
from __future__ import annotations

import click.core
import click.decorators
import click.exceptions
import click.formatting
import click.parser
import click.types

from engine.core.i18n import language, msg, translated

MODULES = (click.core, click.decorators, click.exceptions, click.formatting, click.parser, click.types)

# Each template exactly as click writes it; both forms of a plural (ngettext) are templates of their own.
WORDS = (
    msg("Usage:"), msg("Options"), msg("Commands"), msg("Positional arguments"),
    msg("Show this message and exit."), msg("Show the version and exit."), msg("%(prog)s, version %(version)s"),
    msg("Do you want to continue?"), msg("Confirm the action without prompting."), msg("Aborted!"),
    msg("Error: {message}"), msg("Try '{command} {option}' for help."), msg("unknown error"),
    msg("Got unexpected extra argument ({args})"), msg("Got unexpected extra arguments ({args})"),
    msg("Missing command."), msg("No such command {name!r}."), msg("No such option {name!r}."),
    msg("Did you mean {possibility}?"), msg("(Did you mean one of: {possibilities}?)"),
    msg("Invalid value: {message}"), msg("Invalid value for {param_hint}: {message}"),
    msg("Missing argument"), msg("Missing option"), msg("Missing parameter"), msg("Missing {param_type}"),
    msg("Missing parameter: {param_name}"), msg("Could not open file {filename!r}: {message}"),
    msg("Invalid start character for option ({option})"), msg("Argument {name!r} takes {nargs} values."),
    msg("Option {name!r} does not take a value."), msg("Option {name!r} requires an argument."),
    msg("Option {name!r} requires {nargs} arguments."),
    msg("Value must be an iterable."), msg("Takes {nargs} values but 1 was given."),
    msg("Takes {nargs} values but {len} were given."),
    msg("{len_type} values are required, but {len_value} was given."),
    msg("{len_type} values are required, but {len_value} were given."),
    msg("Choose from:\n\t{choices}"), msg("{value!r} is not {choice}."), msg("{value!r} is not one of {choices}."),
    msg("Choice({choices})"), msg("{value!r} does not match the format {format}."),
    msg("{value!r} does not match the formats {formats}."), msg("{value!r} is not a valid {number_type}."),
    msg("{value} is not in the range {range}."),
    msg("{value!r} is not a valid boolean. Recognized values: {states}"), msg("{value!r} is not a valid UUID."),
    msg("file"), msg("directory"), msg("path"),
    msg("{name} {filename!r} does not exist."), msg("{name} {filename!r} is a file."),
    msg("{name} {filename!r} is a directory."), msg("{name} {filename!r} is not readable."),
    msg("{name} {filename!r} is not writable."), msg("{name} {filename!r} is not executable."),
    msg("env var: {var}"), msg("default: {default}"), msg("required"), msg("(dynamic)"), msg("deprecated"),
    msg("DeprecationWarning: The command {name!r} is deprecated.{extra_message}"),
    msg("DeprecationWarning: The {param_type} {name!r} is deprecated.{extra_message}"),
    # what click says to the programmer of a command, kept in the same language for completeness
    msg("Name '{name}' defined twice"), msg("Boolean option {decl!r} cannot use the same flag for true/false."),
    msg("Could not determine name for option with declarations {decls!r}"),
    msg("No options defined but a name was passed ({name}). Did you mean to declare an argument instead? Did you "
        "mean to pass '--{name}'?"),
    msg("Arguments take exactly one parameter declaration, got {length}: {decls}."),
)


def _ngettext(one: str, many: str, count: int) -> str:
    # Chinese has one form, but click's two forms are different sentences: each is translated on its own
    return translated(one if count == 1 else many)


_missing_message = click.exceptions.MissingParameter.format_message


def _missing_in_language(self: click.exceptions.MissingParameter) -> str:
    """Click ends "Missing option '--policy'" with a full stop of its own, outside any template: in Chinese it
    is the ideographic one, as in every other sentence."""
    text = _missing_message(self)
    if language() == "zh":  # the first full stop is click's own: option and argument names hold none
        head, stop, rest = text.partition(".")
        text = head + "。" + rest.lstrip() if stop else text
    return text


def install() -> None:
    """Click's messages from the engine's catalogue, in the language of the moment (called once, at import)."""
    for module in MODULES:
        module._ = translated  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = _ngettext  # type: ignore[attr-defined]
    click.exceptions.MissingParameter.format_message = _missing_in_language  # type: ignore[method-assign]
