"""The layering docs/architecture.md promises: each folder of engine/ imports only the folders above it in the
table there, and the few imports of a folder below it that the table names (each one lazy or a data model)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ROOT / "engine"

# the table's folders, top to bottom: each may import those above it
ORDER = ["core", "language", "policies", "claims", "decide", "api", "columnar", "audit", "db", "service", "ledger",
         "web", "distributed", "cli", "lsp"]
# folders narrower than "everything above": what each may import besides itself
ONLY = {"core": set(), "language": {"core"}, "db": {"core"}, "cli": set(ORDER) - {"cli"},
        "distributed": set(ORDER[:ORDER.index("distributed")]) - {"service", "ledger", "web"}}
# imports of a folder below, as the table names them: importer (a module, or a package and all in it) -> what
BELOW = {
    "engine": {"engine.api", "engine.decide", "engine.claims", "engine.core", "engine.policies.linker"},
    "engine.claims": {"engine.decide.results"},
    "engine.decide.batch": {"engine.columnar.batch"},
    "engine.service.app": {"engine.web.pages"},
    "engine.service.grants": {"engine.ledger.book", "engine.ledger.granting"},
}
# every module and package (`engine.web` as well as `engine.web.pages`)
MODULES = {".".join(("engine", *p.relative_to(ENGINE).with_suffix("").parts)).removesuffix(".__init__")
           for p in ENGINE.rglob("*.py")}


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _imports(path: Path, module: str):
    """(line, imported module) of every import of the engine that runs (never those under `if TYPE_CHECKING:`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    guards = [node for node in ast.walk(tree) if isinstance(node, ast.If) and ast.unparse(node.test) in (
        "TYPE_CHECKING", "typing.TYPE_CHECKING")]
    skipped = {id(n) for node in guards for child in node.body for n in ast.walk(child)}
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names if _within(alias.name, "engine"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                kept = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(kept + ([node.module] if node.module else []))
            for alias in node.names:  # `from engine.x import y`: module y when there is one, else engine.x
                if _within(base, "engine"):
                    yield node.lineno, f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base


def _allowed(importer: str, imported: str) -> bool:
    own, theirs = (name.split(".")[1] if "." in name else "" for name in (importer, imported))
    if theirs in ("", own, "locale", "schemas"):
        return True
    for key, modules in BELOW.items():
        if (importer == key if key == "engine" else _within(importer, key)) and any(
                _within(imported, m) for m in modules):
            return True
    if own == "":
        return False
    return theirs in ONLY[own] if own in ONLY else ORDER.index(theirs) < ORDER.index(own)


def test_every_folder_imports_only_what_the_architecture_table_allows():
    breaches = []
    for path in sorted(ENGINE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        for line, imported in _imports(path, module):
            if not _allowed(module, imported):
                breaches.append(f"{path.relative_to(ROOT)}:{line}: {module} imports {imported}")
    assert breaches == [], "imports docs/architecture.md does not allow:\n" + "\n".join(breaches)


def test_the_table_lists_every_folder_of_the_engine_in_the_order_the_imports_are_checked_in():
    table = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `engine/(\w+)(?:/|\.py)` \|", table, re.M)
    folders = {p.name for p in ENGINE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders <= set(rows)
    assert [row for row in rows if row in ORDER] == ORDER


def test_a_breach_is_seen():
    assert not _allowed("engine.core.schemacheck", "engine.language.types")
    assert not _allowed("engine.decide.output", "engine.distributed.runner")
    assert not _allowed("engine.distributed.runner", "engine.cli.common")
    assert not _allowed("engine.claims.reader", "engine.decide.batch")
    assert "engine.web" in MODULES  # `from engine import web` is an import of engine.web, not of engine
    assert _allowed("engine.claims.reader", "engine.decide.results") and _allowed("engine.cli.main", "engine.lsp")
