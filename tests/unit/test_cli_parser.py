"""Every ``reunify`` command and option explains itself in ``--help``."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from entrypoints.cli import build_parser


def _commands(
    parser: argparse.ArgumentParser, path: str = "reunify"
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, command in action.choices.items():
                yield from _commands(command, f"{path} {name}")


def test_every_command_has_a_description() -> None:
    missing = [path for path, command in _commands(build_parser()) if not command.description]
    assert not missing, missing


def test_every_option_and_argument_has_help() -> None:
    missing = [
        f"{path} {action.dest}"
        for path, command in _commands(build_parser())
        for action in command._actions
        if not isinstance(action, argparse._SubParsersAction)
        and action.help != argparse.SUPPRESS
        and not action.help
    ]
    assert not missing, missing


def test_the_json_lines_formats_are_called_jsonl_and_the_old_name_still_works() -> None:
    parser = build_parser()
    for argv in (["review", "list"], ["discrepancies"]):
        assert parser.parse_args([*argv, "--format", "jsonl"]).format == "jsonl"
        assert parser.parse_args([*argv, "--format", "json"]).format == "jsonl"
