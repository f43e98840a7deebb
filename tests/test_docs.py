"""The README is a front door that matches the code, and the repository describes the product as it is.

README.md stays short, names every command, option and environment variable the product has, and
every link and repository path in README.md and docs/ leads to a file of this repository. No
tracked text narrates the work that made the product.
"""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import typer

from config.settings import PREFIX
from config.settings import variables as settings_variables
from victim_intake.cli import app

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
MAX_README_LINES = 200
# Words that narrate the work instead of describing the product. `\s` keeps this file from matching.
DIARY = re.compile(
    r"\b(this|that|the\s(first|second|third|fourth|fifth|next|last))\ssession\b|\bsession\s[0-9]|\bissue\s[0-9]+\b|closing\snote|round\s[0-9]",
    re.IGNORECASE,
)
ENVIRONMENT_VARIABLE = re.compile(r"\bVICTIM_INTAKE_[A-Z0-9_]*[A-Z0-9]\b")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
CODE_SPAN = re.compile(r"`([^`\n]+)`")
REPOSITORY_PATH = re.compile(r"(\.\./)*[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*/?")


def tracked_files() -> list[Path]:
    """The repository's files: those git tracks, or every file outside the usual untracked folders."""
    if shutil.which("git") and (ROOT / ".git").exists():
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
        return [ROOT / name for name in listed.decode().split("\0") if name and (ROOT / name).is_file()]
    skipped = {".git", ".venv", "data", "__pycache__", ".pytest_cache", ".hypothesis"}
    return [path for path in ROOT.rglob("*") if path.is_file() and not skipped & set(path.relative_to(ROOT).parts)]


def text_of(path: Path) -> str | None:
    """The file as text, or None for a binary file."""
    content = path.read_bytes()
    return None if b"\0" in content else content.decode("utf-8", errors="replace")


def readme() -> str:
    return README.read_text(encoding="utf-8")


def markdown_files() -> list[Path]:
    return [README, *sorted((ROOT / "docs").glob("*.md"))]


def command_paths(command: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Every command and subcommand of the command line (the click commands typer builds), as it is
    typed after `victim-intake`."""
    found: list[tuple[str, Any]] = []
    if isinstance(getattr(command, "commands", None), dict):  # a group
        for name, child in command.commands.items():
            path = f"{prefix} {name}".strip()
            found.append((path, child))
            found.extend(command_paths(child, path))
    return found


def test_readme_has_at_most_200_lines() -> None:
    lines = readme().splitlines()
    assert len(lines) <= MAX_README_LINES, f"README.md has {len(lines)} lines; move depth into docs/"


def test_every_command_and_subcommand_is_in_the_readme() -> None:
    text = readme()
    paths = command_paths(typer.main.get_command(app))
    assert {"estimate", "keys rotate", "quarantine show"} <= {path for path, _ in paths}
    missing = [path for path, _ in paths if not re.search(rf"victim-intake {re.escape(path)}(?![\w-])", text)]
    assert not missing, f"README.md does not name these commands: {missing}"


def test_every_option_of_every_command_is_in_the_readme() -> None:
    text = readme()
    paths = command_paths(typer.main.get_command(app))
    options = [(path, parameter) for path, command in paths for parameter in command.params if parameter.param_type_name == "option"]
    assert any("--hard-variants" in parameter.opts for _, parameter in options)
    missing = []
    for path, parameter in options:
        if "--help" not in parameter.opts:
            option = max(parameter.opts, key=len)
            if not re.search(rf"{re.escape(option)}(?![\w-])", text):
                missing.append(f"{path} {option}")
    assert not missing, f"README.md does not name these options: {missing}"


def named_variables() -> set[str]:
    """The `VICTIM_INTAKE_*` variables the product's code names anywhere (messages and docstrings included)."""
    variables: set[str] = set()
    for path in tracked_files():
        if path.suffix == ".py" and path.relative_to(ROOT).parts[0] != "tests":
            variables |= set(ENVIRONMENT_VARIABLE.findall(text_of(path) or ""))
    return variables


def declared_variables() -> set[str]:
    """The `VICTIM_INTAKE_*` variables of the settings (`config/settings.py`)."""
    return {name for name in settings_variables() if name.startswith(PREFIX)}


def test_every_environment_variable_the_product_reads_is_in_the_readme() -> None:
    variables = named_variables() | declared_variables()
    assert {"VICTIM_INTAKE_HOME", "VICTIM_INTAKE_PREPARE_AHEAD", "VICTIM_INTAKE_NEXT_PSEUDONYM_KEY"} <= declared_variables()
    documented = set(ENVIRONMENT_VARIABLE.findall(readme()))
    assert not variables - documented, f"README.md does not name: {sorted(variables - documented)}"


def test_every_variable_the_readme_or_the_code_names_is_a_setting() -> None:
    # Declared once: a variable read anywhere but through the settings would be missing here.
    undeclared = (set(ENVIRONMENT_VARIABLE.findall(readme())) | named_variables()) - declared_variables()
    assert not undeclared, f"not declared in config/settings.py: {sorted(undeclared)}"


def test_links_and_repository_paths_in_readme_and_docs_lead_to_files_of_the_repository() -> None:
    top_level = {path.relative_to(ROOT).parts[0] for path in tracked_files() if len(path.relative_to(ROOT).parts) > 1}
    broken = []
    for document in markdown_files():
        text = document.read_text(encoding="utf-8")
        targets = [(target, document.parent) for target in LINK.findall(text) if not re.match(r"[a-z]+:|#", target)]
        for span in CODE_SPAN.findall(text):
            # `flows/ahead.py`, `schemas/partners/` or `../README.md` are paths in this repository;
            # `<home>/inbox`, `./data` or `data/warehouse.sqlite` are not (placeholders, the working folder).
            if REPOSITORY_PATH.fullmatch(span) and "/" in span:
                if span.startswith("../"):
                    targets.append((span, document.parent))
                elif span.split("/")[0] in top_level:
                    targets.append((span, ROOT))
        for target, base in targets:
            resolved = (base / target.split("#")[0]).resolve()
            if not resolved.is_relative_to(ROOT) or not resolved.exists():
                broken.append(f"{document.relative_to(ROOT)}: {target}")
    assert not broken, f"links or paths that lead nowhere in this repository: {broken}"


def test_readme_quotes_the_reason_browser_tests_are_skipped_without_chromium() -> None:
    conftest = (ROOT / "tests" / "conftest.py").read_text(encoding="utf-8")
    reason = re.search(r'pytest\.skip\("(no chromium[^"]*)"\)', conftest)
    assert reason is not None
    assert reason.group(1) in " ".join(readme().split())


def test_partner_docs_list_every_hostile_fixture_with_its_outcome() -> None:
    documented = (ROOT / "docs" / "partners.md").read_text(encoding="utf-8")
    expected = csv.DictReader((ROOT / "tests" / "fixtures" / "hostile" / "expected.csv").read_text(encoding="utf-8").splitlines())
    missing = [row["file"] for row in expected if f"| `{row['file']}` | {row['state']} |" not in documented]
    assert not missing, f"docs/partners.md does not list these hostile files with their outcome: {missing}"


def test_no_tracked_text_narrates_the_work() -> None:
    found = []
    for path in tracked_files():
        relative = path.relative_to(ROOT)
        if relative.parts[:2] == ("tests", "fixtures"):
            continue
        for number, line in enumerate((text_of(path) or "").splitlines(), start=1):
            if DIARY.search(line):
                found.append(f"{relative}:{number}: {line.strip()[:100]}")
    assert not found, "describe what the product does and what was measured (date, machine, command):\n" + "\n".join(found)
