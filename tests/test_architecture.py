"""The package's shape, checked from the source with ``ast``: no import cycle (imports inside
functions count), click only under stylize/cli/, TensorFlow only in stylize/_tf.py, nothing
below the command layer importing it, and no module over 450 lines."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "stylize"
MAX_LINES = 450


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str) -> set[str]:
    """Every module ``name`` imports, at the top or inside a function: ``from a import b``
    counts as importing ``a.b`` when that is a module of the package, else ``a``."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return found


GRAPH = {name: {m for m in _imports(name) if m in MODULES} for name in MODULES}


def _cycle_from(start: str) -> list[str] | None:
    """A chain of imports from ``start`` back to itself, or None."""
    stack, seen = [(start, [start])], set()
    while stack:
        name, chain = stack.pop()
        for target in GRAPH[name]:
            if target == start:
                return [*chain, start]
            if target not in seen:
                seen.add(target)
                stack.append((target, [*chain, target]))
    return None


def _top(name: str) -> str:
    return name.split(".")[0]


def test_the_checker_sees_the_package_and_its_imports():
    """Guards the checks below against passing because they looked at nothing."""
    assert {"stylize.cli", "stylize.cli.run", "stylize.batch.driver", "stylize.runner"} <= set(
        MODULES
    )
    assert "stylize.cli.options" in GRAPH["stylize.cli.run"]
    assert "stylize.manifest" in GRAPH["stylize.batch.driver"]
    assert "stylize.transfer" in GRAPH["stylize.runner"]  # imported inside a function
    assert "click" in _imports("stylize.cli.group")


def _in_cli(name: str) -> bool:
    return name == "stylize.cli" or name.startswith("stylize.cli.")


def test_no_import_cycle():
    cycles = [" -> ".join(_cycle_from(name)) for name in MODULES if _cycle_from(name)]
    assert cycles == []


def test_click_only_under_cli():
    users = [name for name in MODULES if "click" in {_top(m) for m in _imports(name)}]
    assert [name for name in users if not _in_cli(name)] == []


def test_tensorflow_only_in_tf():
    users = [name for name in MODULES if "tensorflow" in {_top(m) for m in _imports(name)}]
    assert users == ["stylize._tf"]


def test_nothing_below_the_command_layer_imports_it():
    below = [name for name in MODULES if not _in_cli(name) and name != "stylize.__main__"]
    assert [name for name in below if any(_in_cli(m) for m in GRAPH[name])] == []


def test_the_commands_are_peers():
    commands = {"stylize.cli.run", "stylize.cli.batch", "stylize.cli.video", "stylize.cli.weights"}
    for name in commands:
        assert not GRAPH[name] & (commands | {"stylize.cli.group", "stylize.cli"}), name


def _package(name: str) -> set[str]:
    return {m for m in MODULES if m == name or m.startswith(f"{name}.")}


def test_run_batch_and_video_machinery_do_not_import_each_other():
    rooms = {"run": {"stylize.runner"}, "batch": _package("stylize.batch"),
             "video": _package("stylize.video")}  # fmt: skip
    assert len(rooms["video"]) >= 5
    for name, modules in rooms.items():
        others = set().union(*(m for other, m in rooms.items() if other != name))
        imported = set().union(*(GRAPH[m] for m in modules))
        assert not imported & others, name


def test_nothing_below_the_commands_machinery_imports_it():
    machinery = {"stylize.runner"} | _package("stylize.batch") | _package("stylize.video")
    below = set(MODULES) - machinery - {m for m in MODULES if _in_cli(m)} - {"stylize.__main__"}
    assert "stylize.hdr" in below and "stylize.images" in below
    assert {m: GRAPH[m] & machinery for m in below if GRAPH[m] & machinery} == {}


def test_the_preview_sits_below_the_commands_and_knows_no_run():
    preview = {m for m in MODULES if m == "stylize.preview" or m.startswith("stylize.preview.")}
    assert len(preview) >= 3
    allowed = preview | {"stylize.errors"}
    assert {m: GRAPH[m] - allowed for m in preview if GRAPH[m] - allowed} == {}


def test_no_module_over_450_lines():
    sizes = {name: len(path.read_text().splitlines()) for name, path in MODULES.items()}
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}
