"""Families: the second linking pass's evidence. A sibling (same surnames, apprehended or
admitted with the child) confidently linked to an adult vouches for that adult (a fixed weight,
counted once, not once per shared field); an adult confidently linked only to children of
another family weighs less as this child's parent, unless that adult is kin-like to this child
too (shares a surname with it, or claimed it by name): siblings often carry different surname
patterns (one with both surnames, one with the mother's only), and the true parent of such a
family must not be pushed away from its other children.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence, Set

from pipeline.match.compare import any_near, name_near
from pipeline.match.views import ChildView

#: weight of "a sibling of this child (same surnames, apprehended or admitted with it) is
#: confidently linked to this adult", with both surnames agreeing, or only the first
SIBLING_WEIGHT = 6.0
SIBLING_WEIGHT_ONE_NAME = 3.0
#: weight against an adult confidently linked only to children of another family, who shares no
#: surname with this child and did not claim it by name
OTHER_FAMILY_WEIGHT = -4.0


def _family_names(a: ChildView, b: ChildView) -> int:
    """How far two children's surnames say they are siblings: 2 both surnames, 1 the first only
    (one record dropped the second), 0 not siblings."""
    best = 0
    for sa in a.surnames:
        for sb in b.surnames:
            if not name_near(sa[0], sb[0]):
                continue
            if len(sa) > 1 and len(sb) > 1:
                if not name_near(sa[1], sb[1]):
                    continue
                return 2
            best = 1
    return best


def _other_pattern(a: ChildView, b: ChildView) -> bool:
    """Two children who may be siblings with different surname patterns: one carries the
    mother's surname only, the other both parents' (the mother's second), apprehended or
    admitted together, and no given name near another (a namesake's own child carries the same
    name; siblings do not). Children sharing a surname in other places are two families as
    often as one (measured on the generated worlds), so they do not count."""
    if any(any_near(g, b.given) for g in a.given):
        return False
    if not any(_mother_only(sa, sb) for sa in a.surnames for sb in b.surnames):
        return False
    return _together(a, b)


def _mother_only(sa: tuple[str, ...], sb: tuple[str, ...]) -> bool:
    """One child carries a single surname that is the other's second (the mother's)."""
    if len(sa) == 1 and len(sb) >= 2:
        return name_near(sa[0], sb[1])
    if len(sb) == 1 and len(sa) >= 2:
        return name_near(sb[0], sa[1])
    return False


def _days(cv: ChildView) -> tuple[set[int], set[int]]:
    apps = {d.toordinal() for d in cv.app_dates}
    admits = {r.admitted_at.toordinal() for r in cv.group.records if r.admitted_at}
    return apps, admits


def _together(a: ChildView, b: ChildView) -> bool:
    """Apprehended together, as far as the records tell: event, station, days, country."""
    if a.events and b.events and not a.events & b.events:
        return False
    if a.stations and b.stations and not a.stations & b.stations:
        return False
    if a.countries and b.countries and not a.countries & b.countries:
        return False
    (apps_a, adm_a), (apps_b, adm_b) = _days(a), _days(b)
    if apps_a and apps_b:
        return any(abs(x - y) <= 3 for x in apps_a for y in apps_b)
    # siblings are admitted within days of each other (the first admission of each)
    return bool(adm_a and adm_b) and abs(min(adm_a) - min(adm_b)) <= 5


class Families:
    """Confident links (child view, pid), indexed so that a child finds its linked siblings."""

    def __init__(self, links: Sequence[tuple[ChildView, int]]) -> None:
        self.children_of: dict[int, list[ChildView]] = defaultdict(list)
        self.by_key: dict[tuple[object, ...], list[tuple[ChildView, int, bool]]] = defaultdict(list)
        for cv, pid in links:
            self.children_of[pid].append(cv)
            apps, admits = _days(cv)
            # every surname, not only the first: a sibling with another surname pattern shares
            # the mother's in another place
            firsts = {sn[0] for sn in cv.surnames}
            for t in {t for sn in cv.surnames for t in sn}:
                entry = (cv, pid, t in firsts)
                for d in apps:
                    self.by_key[("p", t, d)].append(entry)
                if admits:
                    self.by_key[("a", t, min(admits))].append(entry)
        self.sizes = len(self.children_of)

    def evidence(
        self, cview: ChildView, candidates: Sequence[int], kin: Set[int] = frozenset()
    ) -> tuple[dict[int, float], dict[int, str]]:
        """Per person, the family weight for this child and the evidence line that says why.

        ``kin`` are the candidates that share a surname with the child or claimed it by name: the
        "another family" weight spares them when one of their linked children may be this
        child's sibling with another surname pattern (:func:`_other_pattern`)."""
        bonus: dict[int, float] = {}
        notes: dict[int, str] = {}
        apps, admits = _days(cview)
        keys: dict[tuple[object, ...], bool] = {}  # key -> its token is a first surname
        firsts = {sn[0] for sn in cview.surnames}
        for t in {t for sn in cview.surnames for t in sn}:
            day_keys: list[tuple[object, ...]] = [("p", t, d + k) for d in apps for k in range(-3, 4)]
            if admits:
                day_keys.extend(("a", t, min(admits) + k) for k in range(-5, 6))
            for key in day_keys:
                keys[key] = keys.get(key, False) or t in firsts
        for key, first_here in keys.items():
            for sib, pid, first_there in self.by_key.get(key, ()):
                if sib is cview:
                    continue
                # siblings by surnames meet on a first surname (as before other patterns counted)
                names = _family_names(cview, sib) if first_here and first_there else 0
                if names:
                    if not _together(cview, sib):
                        continue
                    w = SIBLING_WEIGHT if names == 2 else SIBLING_WEIGHT_ONE_NAME
                elif pid in kin and _other_pattern(cview, sib):
                    w = SIBLING_WEIGHT_ONE_NAME
                else:
                    continue
                if w > bonus.get(pid, 0.0):
                    bonus[pid] = w
                    notes[pid] = f"sibling {sib.group.key} is linked to this adult (+{w:.1f})"
        for pid in candidates:
            if pid in bonus or pid not in self.children_of:
                continue
            linked = self.children_of[pid]
            if any(_family_names(cview, other) for other in linked):
                continue
            if pid in kin and any(_other_pattern(cview, other) for other in linked):
                continue
            bonus[pid] = OTHER_FAMILY_WEIGHT
        return bonus, notes
