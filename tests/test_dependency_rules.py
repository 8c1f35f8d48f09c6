"""The dependency rules of STYLE.md, read from the code: what each app imports (import
lines, ``import_module``, dotted task names in strings) and which ORM relations of
other apps it walks (reverse accessors and ``__`` lookups). Nothing is run."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.apps import apps

ROOT = Path(__file__).resolve().parent.parent
APPS = ("sidetrack", "accounts", "metadata", "listens", "clubs")

# Which apps each app may reach: faces → clubs → listens → metadata → sidetrack,
# listens → accounts. (Reaching its own app is always allowed.)
MAY_REACH = {
    "sidetrack": set(),
    "accounts": {"sidetrack"},
    "metadata": {"sidetrack"},
    "listens": {"sidetrack", "metadata", "accounts"},
    "clubs": {"sidetrack", "listens", "metadata", "accounts"},
}

# The project's wiring may name every app: settings, URL confs, the health page.
WIRING = {
    "sidetrack/settings.py",
    "sidetrack/urls.py",
    "sidetrack/api_urls.py",
    "sidetrack/views.py",
    "sidetrack/checks.py",
}

# Modules that promise to know no ORM, no settings and no I/O (beyond their HTTP).
NO_DJANGO = (
    "sidetrack/http/",
    "sidetrack/parsing.py",
    "metadata/clients/",
    "listens/clients/",
    "metadata/matching.py",
    "clubs/progress.py",
)
NO_IO = ("metadata/matching.py", "clubs/progress.py")
IO_MODULES = {"requests", "urllib3", "socket", "http", "django"}

# Known violations, each with its reason; a violation not listed here fails the test
# at once, and a listed one that is gone fails the test below.
ALLOWED: set[tuple[str, str]] = set()

DOTTED = re.compile(r"^(?P<app>" + "|".join(APPS) + r")\.[a-z_][a-z0-9_]*(\.[A-Za-z_][\w]*)*$")


@dataclass(frozen=True)
class Use:
    path: str
    line: int
    kind: str  # "import" or "relation"
    target: str  # the app imported, or the relation walked

    def __str__(self) -> str:
        return f"{self.path}:{self.line} {self.kind} {self.target}"


def _sources() -> Iterator[tuple[str, str, ast.Module]]:
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            yield app, rel, ast.parse(path.read_text(), rel)


def _app_of(module: str) -> str | None:
    top = module.split(".", 1)[0]
    return top if top in APPS else None


def imports_of(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """(line, module) of every module the file names: import lines, import_module
    calls and strings that spell a dotted module path (task names for async_task)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and DOTTED.match(node.value)
        ):
            yield node.lineno, node.value


def reverse_relations_into(owner_apps: set[str]) -> dict[str, set[str]]:
    """Per app, the names by which its models are reached from models of other apps:
    accessors (``recording.listens``) and query names (``listens__…``)."""
    names: dict[str, set[str]] = {}
    for model in apps.get_models():
        here = model._meta.app_label
        if here not in owner_apps:
            continue
        for rel in model._meta.get_fields():
            if not (rel.auto_created and rel.is_relation and not rel.concrete):
                continue
            if rel.related_model._meta.app_label == here:
                continue
            found = {rel.get_accessor_name(), rel.name, rel.field.related_query_name()}
            names.setdefault(here, set()).update(n for n in found if n)
    return names


def relations_in(tree: ast.Module, names: set[str]) -> Iterator[tuple[int, str]]:
    """(line, name) where the code walks one of ``names``: ``obj.name``, a lookup
    ``name__…`` as a keyword or string, ``Count("name")``, ``get_field("name")``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in names:
            yield node.lineno, node.attr
        elif isinstance(node, ast.keyword) and node.arg:
            head = node.arg.split("__", 1)[0]
            if head in names and "__" in node.arg:
                yield node.value.lineno, head
        elif isinstance(node, ast.Call):
            for arg in node.args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    head = arg.value.lstrip("-").split("__", 1)[0]
                    if head in names and _is_orm_call(node):
                        yield arg.lineno, head


ORM_CALLS = {
    "filter",
    "exclude",
    "annotate",
    "alias",
    "aggregate",
    "values",
    "values_list",
    "order_by",
    "select_related",
    "prefetch_related",
    "only",
    "defer",
    "get_field",
    "Count",
    "Sum",
    "Max",
    "Min",
    "Avg",
    "F",
    "Q",
    "OuterRef",
    "Prefetch",
    "Exists",
}


def _is_orm_call(node: ast.Call) -> bool:
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name in ORM_CALLS


def violations() -> list[Use]:
    found: list[Use] = []
    reverse = reverse_relations_into({"metadata", "accounts", "sidetrack"})
    for app, path, tree in _sources():
        if path in WIRING:
            continue
        for line, module in imports_of(tree):
            target = _app_of(module)
            if target and target != app and target not in MAY_REACH[app]:
                found.append(Use(path, line, "import", target))
            if path.startswith(NO_DJANGO) and module.split(".")[0] == "django":
                found.append(Use(path, line, "import", module))
            if path.startswith(NO_IO) and module.split(".")[0] in IO_MODULES:
                found.append(Use(path, line, "import", module))
        for line, name in relations_in(tree, reverse.get(app, set())):
            found.append(Use(path, line, "relation", name))
    return found


def test_every_app_reaches_only_the_apps_below_it() -> None:
    unexpected = [
        use for use in violations() if (use.path, f"{use.kind} {use.target}") not in ALLOWED
    ]
    assert unexpected == [], "\n".join(map(str, unexpected))


def test_allowed_list_holds_only_violations_still_present() -> None:
    """An entry the code no longer needs must leave the list, so it cannot hide a new one."""
    present = {(use.path, f"{use.kind} {use.target}") for use in violations()}
    assert sorted(ALLOWED - present) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from listens.models import ListenEvent", ["import listens"]),
        ("import listens.tasks", ["import listens"]),
        ("importlib.import_module('listens.duplicates')", ["import listens"]),
        ("async_task('listens.tasks.ingest_account_task', 1)", ["import listens"]),
        ("Recording.objects.annotate(n=Count('listens'))", ["relation listens"]),
        ("Recording.objects.filter(listens__user_id=1)", ["relation listens"]),
        ("recording.listens.count()", ["relation listens"]),
        ("Recording._meta.get_field('listens')", ["relation listens"]),
        ("from sidetrack.parsing import parse_mbid", []),
        ("logger.info('listens moved')", []),
    ],
)
def test_the_reader_sees_imports_strings_and_relations(source: str, expected: list[str]) -> None:
    """The checker itself, on snippets as metadata code: it must catch each way in."""
    tree = ast.parse(source)
    names = reverse_relations_into({"metadata"})["metadata"]
    seen = [f"import {_app_of(m)}" for _, m in imports_of(tree) if _app_of(m) == "listens"]
    seen += [f"relation {name}" for _, name in relations_in(tree, names)]
    assert seen == expected
