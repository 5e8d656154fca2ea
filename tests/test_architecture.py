"""The package's shape, enforced: a thin CLI over a core that neither prints nor exits, one module
per command, no import cycle (lazy imports included), and each piece of layout knowledge in one
place."""

from __future__ import annotations

import ast
from pathlib import Path

import typer.main

from ipt_notes.cli import app

PACKAGE = Path(__file__).parents[1] / "ipt_notes"
COMMANDS = PACKAGE / "commands"
ENTRY = {"ipt_notes.cli", "ipt_notes.__main__"}
GENERATED = {"ipt_notes.compiled_validators", "ipt_notes.codegen"}


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every ipt_notes module `name` imports, at the top or inside a function."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {module for module in found if module in known and module != name}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) - {"ipt_notes"} for name, path in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for child in sorted(graph.get(node, ())):
            if state.get(child) == 1:
                return [*stack[stack.index(child) :], child]
            if child not in state and (found := visit(child)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_import_graph_has_no_cycle_lazy_imports_included() -> None:
    assert _cycle(_graph()) is None


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_the_core_never_imports_the_commands_or_the_command_line() -> None:
    for name, imported in _graph().items():
        if name in ENTRY or name.startswith("ipt_notes.commands"):
            continue
        outward = {module for module in imported if module.startswith("ipt_notes.commands") or module in ENTRY}
        assert not outward, f"{name} imports {outward}"


def _calls(path: Path) -> list[tuple[str, int]]:
    calls = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("print", "exit"):
            calls.append((node.func.id, node.lineno))
        value = node.value if isinstance(node, ast.Attribute) else None
        if isinstance(node, ast.Attribute) and isinstance(value, ast.Name) and (value.id, node.attr) == ("sys", "exit"):
            calls.append(("sys.exit", node.lineno))
    return calls


def test_only_the_cli_imports_typer_and_nothing_else_prints_or_exits() -> None:
    for name, path in _modules().items():
        if name in ENTRY or name in GENERATED:
            continue
        tree = ast.parse(path.read_text())
        top = {
            alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
        }
        top |= {
            node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
        }
        assert not ({"typer", "click"} & top), name
        assert _calls(path) == [], name


def _command_modules() -> dict[str, set[str]]:
    """For each command of the CLI, the ipt_notes.commands modules its function imports."""
    tree = ast.parse((PACKAGE / "cli.py").read_text())
    functions = {node.name: node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    group = typer.main.get_command(app)
    assert isinstance(group, typer.main.TyperGroup)
    found = {}
    for name, command in group.commands.items():
        assert command.callback is not None
        function = functions[command.callback.__name__]
        found[name] = {
            node.module
            for node in ast.walk(function)
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ipt_notes.commands.")
        }
    return found


def test_every_command_has_its_module_in_ipt_notes_commands_named_after_it() -> None:
    groups = {"cosign": "sign", "push": "backup", "pull": "backup", "add-backup": "backup"}
    for name, modules in _command_modules().items():
        if name == "schema":  # prints what ipt_notes.schemas bundles; there is nothing else to it
            assert modules == set()
            continue
        expected = f"ipt_notes.commands.{groups.get(name, name).replace('-', '_')}"
        assert expected in modules, (name, modules)
        assert (COMMANDS / f"{expected.rsplit('.', 1)[1]}.py").is_file()


def _string_constants(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    joined = {id(value) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for value in node.values}
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in joined
    }


def test_file_and_folder_names_of_the_layout_are_written_once_in_the_layout_module() -> None:
    from ipt_notes import layout

    names = {
        layout.CONFIG_NAME,
        layout.REGISTER_NAME,
        layout.SETTINGS_NAME,
        layout.CLIENT_NAME,
        layout.INVENTORY_NAME,
        layout.FORMULATION_NAME,
        layout.REVIEW_NAME,
        layout.CLIENTS_DIR,
        layout.SESSIONS_DIR,
        layout.PRIVATE_DIR,
        layout.RENDERED_DIR,
    }
    for name, path in _modules().items():
        if name in ("ipt_notes.layout", *GENERATED):
            continue
        repeated = names & _string_constants(path)
        assert not repeated, f"{name} repeats {repeated}: use the constants of ipt_notes.layout"
