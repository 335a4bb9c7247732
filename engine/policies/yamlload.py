"""Text stage, the part that needs PyYAML: composing a YAML text into plain data with positions.

engine/policies/yamlsource.py checks a text's size, emptiness and nesting first and imports this module only
when a text is to be composed: a warm start reads its policies from the store cache and never imports PyYAML
(issue 12). What is kept of a scalar for later positions is a `yamlsource.Scalar`, not PyYAML's node, so a
cached store is unpickled without PyYAML too.
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml

from engine.core.diagnostics import Diagnostic, DiagnosticError, Location, line_starts, note_at, place_of
from engine.core.i18n import msg
from engine.policies.yamlsource import Document, LinePlaces, Path, ReadLimits, Scalar, _line, _too_deep


class _Loader(yaml.SafeLoader):
    """SafeLoader without the timestamp resolver: a date is a string until the schema says otherwise.

    It also remembers where each alias is used: an alias stands for its anchor's node itself, so without
    this an error found while expanding one (too many values) could only point at the anchor."""

    def compose_node(self, parent, index):
        alias = self.peek_event() if self.check_event(yaml.AliasEvent) else None
        node = super().compose_node(parent, index)
        if alias is not None and parent is not None and index is not None:
            uses = self.__dict__.setdefault("alias_uses", {})
            uses[(id(parent), index if isinstance(index, int) else id(index))] = alias.start_mark
        return node


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

try:
    from yaml._yaml import CParser as _CParser

    class _CLoader(_CParser, yaml.constructor.SafeConstructor, yaml.resolver.Resolver):
        """The same reading through libyaml: 66,000 table rows take a second, not half a minute (issue 18)."""

        yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers

        def __init__(self, stream):
            _CParser.__init__(self, stream)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)
except ImportError:  # PyYAML built without libyaml
    _CLoader = None  # type: ignore[assignment,misc]

# An alias (*name) where a value can start: such a file is read by the Python reader, which remembers its uses.
_ALIAS = re.compile(r"(?:^|[\s\[{,:?-])\*[^\s,\]}]")

_PLAIN_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}




def compose(text: str, file: str, limits: ReadLimits, positions: bool, per_item: bool = False) -> Document:
    """The document of a text yamlsource.read_yaml has checked, or raise DiagnosticError."""
    loader: Any = None
    root = None
    if _CLoader is not None and not _ALIAS.search(text):
        # libyaml composes ten times faster and keeps every position; a file with aliases (whose uses are
        # remembered for errors) or one it refuses goes through the Python reader, which words the error.
        try:
            loader = _CLoader(text)
            root = loader.get_single_node()
        except Exception:
            loader = None
    try:
        if loader is None:
            loader = _Loader(text)
            try:
                root = loader.get_single_node()
            finally:
                loader.dispose()
    except yaml.reader.ReaderError as exc:
        loc = Location(file)
        if isinstance(exc.position, int):
            loc = Location(file, *place_of(line_starts(text), exc.position))
        raise DiagnosticError([Diagnostic(
            "input.character", msg("the file holds a character YAML does not allow (U+{code:04X})",
                                   code=_code(exc.character)),
            loc, source_line=_line(text, loc.line), hint=msg("remove control characters from the file"))]) from None
    except yaml.MarkedYAMLError as exc:
        from engine.policies.yamlwords import describe  # structure mistakes in plain words

        raise DiagnosticError([describe(exc, text, file)]) from None
    except yaml.YAMLError as exc:
        raise DiagnosticError([Diagnostic("yaml.syntax", msg("malformed YAML: {problem}", problem=str(exc)),
                                          Location(file))]) from None
    except RecursionError:
        raise DiagnosticError([Diagnostic(
            "input.too_deep", _too_deep(limits.max_depth), Location(file))]) from None
    if root is None:
        raise DiagnosticError([Diagnostic("input.empty", msg("the file holds no YAML document"), Location(file))])
    doc = Document(file=file, text=text, value=None)
    builder = _Builder(doc, loader, limits, positions)
    if per_item and isinstance(root, yaml.SequenceNode) and root.tag == "tag:yaml.org,2002:seq":
        doc.value = [builder.build_item(item, i, doc.item_errors) for i, item in enumerate(root.value)]
    else:
        doc.value = builder.build(root, (), 0)
    if builder.errors:
        raise DiagnosticError(builder.errors)
    return doc




class _Builder:
    def __init__(self, doc: Document, loader: yaml.SafeLoader, limits: ReadLimits, positions: bool = True):
        self.positions = positions
        self.doc = doc
        self.loader = loader
        self.limits = limits
        self.nodes = 0
        self.errors: list[Diagnostic] = []
        self.alias_uses = getattr(loader, "alias_uses", None)  # none when libyaml composed the text (no aliases)
        self.places = LinePlaces(doc.text)

    def _loc(self, node) -> Location:
        return Location(self.doc.file, *self.places.of(node.start_mark))

    def _fail(self, code: str, message: str, node, hint: str | None = None, notes: tuple = ()):
        loc = self._loc(node)
        self.errors.append(Diagnostic(code, message, loc, source_line=_line(self.doc.text, loc.line), hint=hint,
                                      notes=notes))

    def _use(self, parent, index, via):
        """Where the officer wrote this child: the outermost alias on the way to it, if any."""
        if via is not None or not self.alias_uses:
            return via
        mark = self.alias_uses.get((id(parent), index))
        return Location(self.doc.file, *self.places.of(mark)) if mark else None

    def build_item(self, node, index: int, item_errors: dict):
        """One item of a list read per item: its errors are its own, and it is None when it has any."""
        before = len(self.errors)
        value = self.build(node, (index,), 1)
        if len(self.errors) == before:
            return value
        item_errors[index] = self.errors[before:]
        del self.errors[before:]
        return None

    def build(self, node, path: Path, depth: int, via: Location | None = None):
        self.nodes += 1
        if self.nodes > self.limits.max_nodes:
            loc = via or self._loc(node)
            raise DiagnosticError([Diagnostic(
                "input.too_many_nodes",
                msg("the file expands to more than {limit} values (aliases count each time they are used)",
                    limit=self.limits.max_nodes),
                loc, source_line=_line(self.doc.text, loc.line))])
        if depth > self.limits.max_depth:
            loc = via or self._loc(node)
            raise DiagnosticError([Diagnostic(
                "input.too_deep", _too_deep(self.limits.max_depth), loc)])
        if self.positions:
            mark = node.start_mark
            self.doc.marks[path] = (mark.line + 1, mark.column + 1) if self.places.exact else self.places.of(mark)
        if node.tag not in _PLAIN_TAGS:
            self._fail("yaml.tag", msg("the tag {tag} is not allowed: only plain data is read", tag=repr(node.tag)),
                       node)
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth, via)
        if isinstance(node, yaml.SequenceNode):
            if via is None and not self.alias_uses:
                return [self.build(item, path + (i,), depth + 1) for i, item in enumerate(node.value)]
            return [self.build(item, path + (i,), depth + 1, self._use(node, i, via))
                    for i, item in enumerate(node.value)]
        if node.style == "":
            node.style = None  # libyaml's plain style, as PyYAML writes it
        if self.positions:
            self.doc.scalars[path] = Scalar.of(node, self.places)
        value = self._scalar(node)
        if isinstance(value, str) and _SURROGATE.search(value):
            return self._surrogate(node, value)
        return value

    def _surrogate(self, node, value: str):
        """A lone surrogate (`"\\ud800"`) is half of a UTF-16 pair, not a character: no UTF-8 text can hold it, so
        neither can a digest, a decision or an error line (issue 18)."""
        code = ord(next(ch for ch in value if "\ud800" <= ch <= "\udfff"))
        self._fail("input.encoding", msg("the value holds \\u{code:04x}, half of a UTF-16 pair (a lone surrogate), "
                                         "which is not a character", code=code), node,
                   hint=msg("write the whole character, or both halves of the pair together"))
        return None

    def _mapping(self, node, path: Path, depth: int, via: Location | None = None) -> dict:
        result: dict = {}
        first_seen: dict = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self._fail("yaml.key", msg("a mapping key must be plain text"), key_node)
                continue
            key = self._scalar(key_node)
            if not isinstance(key, str):
                key = key_node.value  # `1:` or `no:` as a key means the text the officer typed
            if _SURROGATE.search(key):
                self._surrogate(key_node, key)
                continue
            if key in first_seen:
                first = self._loc(first_seen[key])
                self._fail("yaml.duplicate_key",
                           msg("duplicate key {key}: first given on line {line}", key=repr(key), line=first.line),
                           key_node,
                           hint=msg("YAML would silently keep only the last one; remove or rename one of them"),
                           notes=(note_at(msg("first given here"), first, self.doc.text),))
                continue
            first_seen[key] = key_node
            if self.positions:
                mark = key_node.start_mark
                self.doc.key_marks[path + (key,)] = ((mark.line + 1, mark.column + 1) if self.places.exact
                                                     else self.places.of(mark))
            result[key] = self.build(value_node, path + (key,), depth + 1, self._use(node, id(key_node), via))
        return result

    def _scalar(self, node):
        tag = node.tag
        if tag == _STR:
            return node.value  # what PyYAML's constructor returns for text, without its bookkeeping
        if node.style is None and tag in _NUMBER_TAGS and _AMBIGUOUS_NUMBER.search(node.value):
            # YAML 1.1 reads 0755 as 493 and 1:30 as 90: keep what the officer typed, so that the schema
            # either accepts it as text or says plainly that it is not a number.
            return node.value
        # no more digits than characters: they are counted only when there may be too many
        long = tag in _NUMBER_TAGS and self.limits.max_digits is not None and len(node.value) > self.limits.max_digits
        digits = sum(ch.isdigit() for ch in node.value) if long else 0
        if self.limits.max_digits is not None and digits > self.limits.max_digits:
            self._fail("yaml.value", msg("a number of {digits} digits is longer than the limit of {limit} ({number})",
                                         digits=format(digits, ","), limit=self.limits.max_digits,
                                         number=_shorten(node.value, 20)), node, hint=_RAISE_DIGITS)
            return None
        if tag == "tag:yaml.org,2002:float":
            value = _exact_number(node.value)
            if self.limits.max_digits is not None and isinstance(value, Decimal) \
                    and abs(value.adjusted()) > self.limits.max_digits:  # 1.0e+100000000 has few digits
                self._fail("yaml.value", msg("the number {number} is beyond 10^{limit}",
                                             number=_shorten(node.value, 20), limit=self.limits.max_digits),
                           node, hint=_RAISE_DIGITS)
                return None
            return value
        if tag in ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"):
            # PyYAML would quietly turn `!!map text` into {}: the officer meant something else
            self._fail("yaml.value", msg("{value} is a single value, but the tag !!{tag} asks for {kind}",
                                         value=_shorten(node.value), tag=tag.rsplit(':', 1)[-1], kind=_KINDS[tag]),
                       node)
            return None
        try:
            if tag == _INT and _DECIMAL_INT.match(node.value):
                return int(node.value)  # as PyYAML's constructor reads it (int() also refuses too many digits)
            return self.loader.construct_object(node)
        except Exception:  # explicit tags on values they cannot convert (!!int "") fail in many ways
            self._fail("yaml.value", _unreadable(tag, node.value), node)
            return None


_FLOAT_CLEAN = re.compile(r"[_\s]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_NUMBER_TAGS = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}
_STR, _INT = "tag:yaml.org,2002:str", "tag:yaml.org,2002:int"
_DECIMAL_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)\Z")  # PyYAML reads it as int() does: no base, no _ or :
_AMBIGUOUS_NUMBER = re.compile(r"^[-+]?0[0-9_]|:|^[-+]?0[xob]|_")


_KINDS = {"tag:yaml.org,2002:int": msg("a whole number"), "tag:yaml.org,2002:bool": msg("true or false"),
          "tag:yaml.org,2002:map": msg("a mapping"), "tag:yaml.org,2002:seq": msg("a list")}
_RAISE_DIGITS = msg("raise POLICY_LIMIT_NUMBER_DIGITS if such a number is really meant")


def _shorten(text: str, width: int = 40) -> str:
    """The value quoted, cut short: a message must stay one readable line whatever was written."""
    if len(text) <= width:
        return repr(text)
    return msg("{start}… ({count} characters)", start=repr(text[:width]), count=format(len(text), ","))


def _unreadable(tag: str, text: str) -> str:
    """Why a value cannot be read, in plain words (never the name of a Python exception)."""
    if tag == "tag:yaml.org,2002:merge":
        return msg("the merge key {key} is not supported: write the keys out in full", key=_shorten(text))
    digits = sum(ch.isdigit() for ch in text)
    if tag == "tag:yaml.org,2002:int" and digits > 40:
        return msg("a whole number of {digits} digits is too long to read ({number})", digits=format(digits, ","),
                   number=_shorten(text, 20))
    return msg("cannot read {value} as {kind}", value=_shorten(text), kind=_KINDS.get(tag, tag.rsplit(':', 1)[-1]))


def _exact_number(text: str):
    cleaned = _FLOAT_CLEAN.sub("", text)
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return text
    return value if value.is_finite() else text


def _code(character) -> int:
    return character if isinstance(character, int) else ord(character)
