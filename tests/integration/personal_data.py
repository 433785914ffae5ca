"""The personal data of a generated world, to prove that a text holds none of it."""

from __future__ import annotations

import re

from pipeline.sim.world import World


def personal_values(world: World) -> set[str]:
    """Every full name, A-number (its nine digits) and date of birth in the world's feeds."""
    values: set[str] = set()
    for child in world.orr:
        if isinstance(child, dict):
            values.add(f"{child.get('firstName')} {child.get('lastName')}")
            values.add(str(child.get("dateOfBirth")))
            values.add(re.sub(r"\D", "", str(child.get("aNumber") or "")))
    for adult in world.ice:
        if isinstance(adult, dict):
            values.add(f"{adult.get('first_name')} {adult.get('last_name')}")
            values.add(str(adult.get("birth_date")))
            values.add(re.sub(r"\D", "", str(adult.get("a_number") or "")))
    for row in world.removals:
        if isinstance(row, list | tuple) and len(row) >= 5:
            values.add(f"{row[3]} {row[2]}")
            values.add(re.sub(r"\D", "", str(row[1])))
            values.add(str(row[4]))
    # too short to mean anything (empty ids, 'None None')
    return {v for v in values if len(v) >= 8 and v not in ("None None", "None")}


def leaked(world: World, text: str) -> list[str]:
    """The world's personal values that occur in ``text`` (should be none)."""
    return sorted(v for v in personal_values(world) if v in text)
