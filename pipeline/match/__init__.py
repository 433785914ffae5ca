"""Recognising people and linking them: child de-duplication, adult identity, parent–child links."""

from pipeline.match.adults import Person, build_people
from pipeline.match.children import ChildGroup, group_children
from pipeline.match.link import Link, Linker, LinkOutcome

__all__ = ["ChildGroup", "Link", "LinkOutcome", "Linker", "Person", "build_people", "group_children"]
