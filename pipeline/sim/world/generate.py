"""World generation: families, their records in each feed with the sample's noise, unrelated adults."""

from __future__ import annotations

import gc
import json
import random
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate
from typing import Any

from pipeline import normalise
from pipeline.sim import names
from pipeline.sim.world.model import DEFAULT_AS_OF, FEEDS, ChildLink, World
from pipeline.sim.world.model import us_date as _us
from pipeline.sim.world.rates import Rates
from pipeline.sim.world.truth import compute_truth

_SMALL_WORLD = 2500  # up to this many children a world spans the sample's two months

# A child's link with its records, waiting for ids to be dealt: (link, ORR, ICE, removal rows).
_Pending = tuple[ChildLink, list[dict[str, Any]], list[dict[str, Any]], list[list[str]]]


class _Picker:
    """Fast weighted choice over a fixed vocabulary (bisect over cumulative weights)."""

    __slots__ = ("_cum", "_items", "_total")

    def __init__(self, pairs: Iterable[tuple[Any, float]]) -> None:
        items, weights = zip(*pairs, strict=True)
        self._items = list(items)
        self._cum = list(accumulate(weights))
        self._total = self._cum[-1]

    def __call__(self, rng: random.Random) -> Any:
        return self._items[bisect_right(self._cum, rng.random() * self._total)]


_FEMALE = _Picker(names.FEMALE_GIVEN)
_MALE = _Picker(names.MALE_GIVEN)
_SURNAME = _Picker(names.SURNAMES)
_PARTICLE = _Picker(names.PARTICLE_SURNAMES)
_PARENT_COUNTRY = _Picker(((c[0], c[1]), c[2]) for c in names.COUNTRIES)
_OTHER_COUNTRY = _Picker(((c[0], c[1]), c[3]) for c in names.COUNTRIES)
_CHILD_AGE = _Picker(enumerate((3, 2, 3, 3, 7, 20, 20, 15, 10, 14, 13, 13, 10, 12, 12, 8, 9, 8)))
_ADMIT_DELAY = _Picker(enumerate((12, 32, 37, 34, 32, 13)))
_LETTERS = "ABCDEFGHIJLMNOPRSTUVYZ"


@dataclass(slots=True)
class _Person:
    """True attributes of one person, before any feed writes them down."""

    sex: str
    given: list[str]
    surnames: list[str]
    dob: date
    a_number: int
    country: tuple[str, str]  # (ORR title case, ICE upper case)


@dataclass(slots=True)
class _Family:
    parent: _Person
    children: list[_Person]
    event_date: date
    station: str
    event_id: str
    absent: bool
    fraud: bool


class _Generator:
    """One world's generation; all randomness from ``rng`` so a seed fixes the world."""

    def __init__(
        self,
        rng: random.Random,
        as_of: date,
        rates: Rates,
        period_days: int,
        n_stations: int,
        n_shelters: int,
    ) -> None:
        self.rng = rng
        self.as_of = as_of
        self.r = rates
        self.window_end = as_of - timedelta(days=22)
        self.window_start = self.window_end - timedelta(days=period_days)
        self.period = period_days
        self.stations = names.STATIONS[: max(1, min(n_stations, len(names.STATIONS)))]
        self.shelters = [
            (
                f"{names.SHELTERS[i % len(names.SHELTERS)][0]}-{i:04d}",
                f"{names.SHELTERS[i % len(names.SHELTERS)][1]} Shelter {i}",
            )
            for i in range(n_shelters)
        ]
        n_fac = 10 if period_days <= 90 else len(names.ICE_FACILITIES)
        n_crim = 3 if period_days <= 90 else len(names.CRIMINAL_FACILITIES)
        self.facilities = names.ICE_FACILITIES[:n_fac]
        self.criminal_facilities = names.CRIMINAL_FACILITIES[:n_crim]
        self.removal_start = self.window_start - timedelta(days=108)
        self.orr: list[dict[str, Any]] = []
        self.ice: list[dict[str, Any]] = []
        self.rows: list[list[str]] = []
        self.dna: list[dict[str, Any]] = []
        self._a_numbers: list[int] = []
        self._events: list[int] = []
        # Each child's link waits for ids until all records exist and ids are dealt.
        self.pending_links: list[_Pending] = []

    # ---- small helpers

    def a_number(self) -> int:
        if not self._a_numbers:
            # Unique A-numbers in the sample's range, drawn in blocks for speed.
            self._a_numbers = self.rng.sample(range(200_000_000, 217_000_000), 50_000)
        return self._a_numbers.pop()

    def event_id(self) -> str:
        if not self._events:
            self._events = self.rng.sample(range(1, 10_000_000), 50_000)
        return f"CBP-2018{self._events.pop():07d}"

    def app_date(self) -> date:
        # Half uniform, half rising towards the window's end: the sample's April–June shape.
        rng = self.rng
        if rng.random() < 0.5:
            offset = rng.random() * self.period
        else:
            offset = rng.triangular(0, self.period, self.period * 0.75)
        return self.window_start + timedelta(days=int(offset))

    def person(
        self,
        sex: str,
        age: int,
        country: tuple[str, str],
        surnames: list[str] | None = None,
        two_given: float | None = None,
    ) -> _Person:
        rng = self.rng
        pick = _FEMALE if sex == "F" else _MALE
        given = [pick(rng)]
        if rng.random() < (self.r.two_given if two_given is None else two_given):
            second = pick(rng)
            if second != given[0]:
                given.append(second)
        if surnames is None:
            surnames = [_SURNAME(rng), _SURNAME(rng)]
            if self.r.particle_surname and rng.random() < self.r.particle_surname:
                surnames[0 if rng.random() < 0.6 else 1] = _PARTICLE(rng)
        birth = self.as_of - timedelta(days=365 * age + int(rng.random() * 365))
        return _Person(sex, given, surnames, birth, self.a_number(), country)

    def spell_a(self, number: int, null: float, empty: float) -> str | None:
        rng = self.rng
        x = rng.random()
        if x < null:
            return None
        if x < null + empty:
            return ""
        digits = self.miskey(f"{number:09d}")
        y = rng.random()
        if y < 0.38:
            return f"A-{digits[:3]}-{digits[3:6]}-{digits[6:]}"
        if y < 0.65:
            return digits
        if y < 0.86:
            return "A" + digits
        return f"A {digits[:3]} {digits[3:6]} {digits[6:]}"

    def miskey(self, digits: str) -> str:
        """The nine digits, now and then mis-keyed: one digit changed or two neighbours swapped."""
        rng = self.rng
        if rng.random() >= self.r.a_miskey:
            return digits
        i = rng.randrange(1, 8)
        if rng.random() < 0.5 and digits[i] != digits[i + 1]:
            return digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :]
        return digits[:i] + str((int(digits[i]) + rng.randrange(1, 10)) % 10) + digits[i + 1 :]

    def noisy_dob(self, dob: date, null: float, jan1: float | None = None) -> date | None:
        """Recorded date of birth: missing, placeholder 1 January, day/month swapped, year off."""
        rng = self.rng
        x = rng.random()
        r = self.r
        if x < null:
            return None
        x -= null
        jan1 = r.dob_jan1 if jan1 is None else jan1
        if x < jan1:
            return date(dob.year, 1, 1)
        x -= jan1
        if x < r.dob_swap and dob.day <= 12 and dob.day != dob.month:
            return date(dob.year, dob.day, dob.month)
        x -= r.dob_swap
        if x < r.dob_year:
            year = dob.year + rng.choice((-1, 1))
            return date(year, dob.month, 28 if (dob.month, dob.day) == (2, 29) else dob.day)
        return dob

    def typo(self, text: str) -> str:
        """One keying error: swapped, dropped or replaced character (spaces included)."""
        rng = self.rng
        if len(text) < 4:
            return text
        i = rng.randrange(1, len(text) - 1)
        kind = rng.random()
        if kind < 0.4:
            return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
        if kind < 0.7:
            return text[:i] + text[i + 1 :]
        letter = rng.choice(_LETTERS)
        letter = letter if text[i].isupper() else letter.lower()
        return text[:i] + letter + text[i + 1 :]

    def mixed(self, tokens: Iterable[str], accents: bool) -> str:
        out = []
        for tok in tokens:
            accented = names.ACCENTED.get(tok) if accents else None
            out.append(accented or tok.capitalize())
        return " ".join(out)

    def stamp(self, day: date) -> str:
        minute = int(self.rng.random() * 1440)  # one draw for hour and minute
        return f"{day.isoformat()}T{minute // 60:02d}:{minute % 60:02d}:00Z"

    def pick(self, items: Sequence[Any]) -> Any:
        """``rng.choice`` without its overhead (the hot path draws millions)."""
        return items[int(self.rng.random() * len(items))]

    def clamp(self, day: date) -> date:
        return min(day, self.as_of)

    # ---- families

    def family(self) -> _Family:
        rng, r = self.rng, self.r
        country = _PARENT_COUNTRY(rng)
        sex = "F" if rng.random() < r.parent_female else "M"
        x, size = rng.random(), 1
        for k, p in enumerate(r.family_sizes):
            if x < p:
                size = k + 1
                break
            x -= p
        ages = sorted((_CHILD_AGE(rng) for _ in range(size)), reverse=True)
        gap = int(rng.triangular(14, 46, 21))
        parent = self.person(sex, ages[0] + gap, country, two_given=0.45)
        other_surname = _SURNAME(rng)  # the other parent, who is in no feed
        if r.particle_surname and rng.random() < r.particle_surname:
            other_surname = _PARTICLE(rng)
        single = sex == "F" and rng.random() < r.single_mother_surnames
        # Draws only when the rate is set, so the default profile's worlds stay as they were.
        mother_only = sex == "F" and r.single_surname_mother > 0 and rng.random() < r.single_surname_mother
        children = []
        for age in ages:
            if single:
                surnames = list(parent.surnames)
            elif mother_only or (
                sex == "F" and size > 1 and r.sibling_mother_only > 0 and rng.random() < r.sibling_mother_only
            ):
                surnames = [parent.surnames[0]]
            elif sex == "M":
                surnames = [parent.surnames[0], other_surname]
            else:
                surnames = [other_surname, parent.surnames[0]]
            child_country = (names.US_BORN_COUNTRY, "UNITED STATES") if rng.random() < r.us_born else country
            child_sex = "F" if rng.random() < 0.54 else "M"
            children.append(self.person(child_sex, age, child_country, surnames))
        return _Family(
            parent=parent,
            children=children,
            event_date=self.app_date(),
            station=rng.choice(self.stations),
            event_id=self.event_id(),
            absent=rng.random() < r.parent_absent,
            fraud=rng.random() < r.fraud,
        )

    def build_family(self, fam: _Family, links: list[ChildLink]) -> None:
        rng, r = self.rng, self.r
        no_evidence = {id(c) for c in fam.children if rng.random() < r.no_evidence}
        parent_ice: list[dict[str, Any]] = []
        parent_rows: list[list[str]] = []
        discharge_ok = True
        if not fam.absent:
            parent_ice, parent_rows, discharge_ok = self.parent_records(fam, no_evidence)
        reunified = discharge_ok and not fam.fraud and not fam.absent and rng.random() < r.reunified
        for child in fam.children:
            records = self.child_records(fam, child, id(child) in no_evidence)
            self.discharge(records, child, fam, reunified, discharge_ok)
            link = ChildLink(child_record_ids=[])
            links.append(link)
            self.pending_links.append((link, records, parent_ice, parent_rows))
            if fam.absent or id(child) in no_evidence or not parent_ice:
                continue
            if fam.fraud or rng.random() < r.dna_tested:
                self.dna_result(fam, child, records, parent_ice[-1])

    def parent_records(
        self, fam: _Family, no_evidence: set[int]
    ) -> tuple[list[dict[str, Any]], list[list[str]], bool]:
        """The parent's ICE record(s) and removal rows; says whether a discharge fits its state."""
        rng, r = self.rng, self.r
        p = fam.parent
        start = fam.event_date
        room = max(0, (self.as_of - start).days)
        first = start + timedelta(days=min(room, int(rng.triangular(0, 80, 5))))
        x = rng.random()
        outcome = 3
        for k, prob in enumerate(r.outcomes):
            if x < prob:
                outcome = k
                break
            x -= prob
        serious = rng.random() < r.serious
        x = rng.random()
        history: str | None = "none"
        if serious:
            history = "serious"
        elif x < r.history_unknown:
            history = None
        elif x < r.history_unknown + r.non_serious:
            history = "non_serious"
        medical = rng.random() < r.medical_hold
        claims = self.parent_claims(fam, no_evidence)
        status = ("detained", "released", "removed", "criminal_custody")[outcome]
        rows_dates: list[date] = []
        if outcome == 2:
            kind = rng.random()
            a, b = r.removed_kinds[0], r.removed_kinds[0] + r.removed_kinds[1]
            if kind < a:  # ICE says removed, the list follows a few days later
                rows_dates.append(self.clamp(first + timedelta(days=rng.randint(1, 40))))
            elif kind < b:  # ICE still says detained; only the removal list knows
                status = "detained"
                later = 0 if rng.random() < r.removal_tie else rng.randint(1, 40)
                rows_dates.append(self.clamp(first + timedelta(days=later)))
        records = []
        stale = rng.random() < r.duplicate_ice and (first - start).days >= 2
        if stale:
            old_day = start + timedelta(days=rng.randrange((first - start).days))
            old_claims = claims if rng.random() < 0.5 else []
            records.append(
                self.ice_record(p, fam, "detained", old_day, history, medical, old_claims, parent=True)
            )
        records.append(self.ice_record(p, fam, status, first, history, medical, claims, parent=True))
        if stale and r.duplicate_ice_no_dob and rng.random() < r.duplicate_ice_no_dob:
            # The stale copy was keyed from an interview without papers: no date of birth, often
            # no A-number either.
            records[0]["birth_date"] = None
            if rng.random() < 0.5:
                records[0]["a_number"] = None
        rows = [self.removal_row(p, day, parent=True) for day in rows_dates]
        discharge_ok = outcome == 0 and not serious and not medical and not rows_dates
        return records, rows, discharge_ok

    def parent_claims(self, fam: _Family, no_evidence: set[int]) -> list[dict[str, Any]]:
        rng, r = self.rng, self.r
        if rng.random() >= r.claims_made:
            return []
        claimed = [c for c in fam.children if id(c) not in no_evidence and rng.random() < r.claim_child]
        x, extra = rng.random(), 0
        for k, p in enumerate(r.claim_extra):
            if x < p:
                extra = k
                break
            x -= p
        for _ in range(extra):
            sib_sex = "F" if rng.random() < 0.5 else "M"
            sibling = self.person(sib_sex, _CHILD_AGE(rng), fam.parent.country, fam.children[0].surnames)
            claimed.append(sibling)
        rng.shuffle(claimed)
        return [self.claim(c) for c in claimed]

    def claim(self, child: _Person) -> dict[str, Any]:
        rng, r = self.rng, self.r
        given = child.given if rng.random() < r.claim_two_given else child.given[:1]
        tokens = [*given, child.surnames[0]]
        if rng.random() < r.claim_upper:
            name = " ".join(tokens)
        else:
            name = self.mixed(tokens, accents=rng.random() < 0.8)
        if rng.random() < r.typo_claim:
            name = self.typo(name)
        dob = child.dob.isoformat() if rng.random() < r.claim_dob else None
        return {"name": name, "dob": dob}

    def ice_record(
        self,
        p: _Person,
        fam: _Family | None,
        status: str,
        day: date,
        history: str | None,
        medical: bool,
        claims: list[dict[str, Any]],
        *,
        parent: bool,
        apprehension: tuple[str | None, date | None, str | None] | None = None,
    ) -> dict[str, Any]:
        rng, r = self.rng, self.r
        given = p.given if len(p.given) == 1 or rng.random() >= r.adult_drop_given else p.given[:1]
        surnames = p.surnames if rng.random() >= r.adult_drop_surname else p.surnames[:1]
        first, last = " ".join(given), " ".join(surnames)
        if rng.random() < r.typo_adult:
            first = self.typo(first)
        if rng.random() < r.typo_adult:
            last = self.typo(last)
        if status == "detained":
            code, fac_name = self.pick(self.facilities)
        elif status == "criminal_custody":
            code, fac_name = self.pick(self.criminal_facilities)
        else:
            code = fac_name = None
        if fam is not None:
            eid = fam.event_id if rng.random() < r.parent_event_id else None
            station = fam.station if rng.random() < r.parent_station else None
            app: tuple[str | None, date | None, str | None] = (eid, fam.event_date, station)
        else:
            app = apprehension or (None, None, None)
        dob = self.noisy_dob(p.dob, r.dob_null_adult, r.dob_jan1_parent if parent else None)
        record = {
            "subject_id": None,
            "a_number": self.spell_a(p.a_number, r.a_null, r.a_empty),
            "first_name": first,
            "last_name": last,
            "birth_date": dob.isoformat() if dob else None,
            "gender": p.sex,
            "citizenship": p.country[1],
            "custody": {
                "status": status,
                "facility_code": code,
                "facility_name": fac_name,
                "as_of": day.isoformat(),
            },
            "apprehension_event_id": app[0],
            "apprehension_date": app[1].isoformat() if app[1] else None,
            "apprehension_station": app[2],
            "criminal_history": history,
            "medical_hold": medical,
            "claimed_children": claims,
            "updated_at": self.stamp(day),
        }
        self.ice.append(record)
        return record

    def removal_row(self, p: _Person, day: date, *, parent: bool) -> list[str]:
        rng, r = self.rng, self.r
        given = p.given if len(p.given) == 1 or rng.random() >= r.adult_drop_given else p.given[:1]
        surnames = p.surnames if rng.random() >= r.removal_drop_surname else p.surnames[:1]
        first, last = " ".join(given), " ".join(surnames)
        if rng.random() < r.typo_adult:
            first = self.typo(first)
        a_empty = r.removal_a_empty / 2 if parent else r.removal_a_empty
        a = self.spell_a(p.a_number, 0.0, a_empty) or ""
        dob = self.noisy_dob(p.dob, 0.0 if parent else r.removal_dob_empty)
        if parent and r.removal_typo_surname and rng.random() < r.removal_typo_surname:
            last = self.typo(last)  # a slip on the removal list only: ICE has the name right
        if parent and a and r.removal_a_swap and rng.random() < r.removal_a_swap:
            digits = f"{p.a_number:09d}"
            i = rng.randrange(1, 8)
            if digits[i] != digits[i + 1]:
                a = digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :]
        row = [
            "",
            a,
            last,
            first,
            _us(dob) if dob else "",
            p.country[1],
            _us(day),
            self.pick(names.PORTS),
        ]
        self.rows.append(row)
        return row

    def child_records(self, fam: _Family, child: _Person, no_evidence: bool) -> list[dict[str, Any]]:
        rng, r = self.rng, self.r
        admitted = fam.event_date + timedelta(days=_ADMIT_DELAY(rng))
        records = [self.child_record(fam, child, admitted, no_evidence)]
        if rng.random() < r.re_referral:
            again = self.clamp(fam.event_date + timedelta(days=rng.randint(14, 35)))
            records.append(self.child_record(fam, child, again, no_evidence))
            if r.re_referral_bare and rng.random() < r.re_referral_bare:
                self.bare_re_referral(records[0], records[1], child)
        return records

    def bare_re_referral(self, first: dict[str, Any], again: dict[str, Any], child: _Person) -> None:
        """Rewrite a re-referral's record as a second intake writes it without the first file: no
        A-number, and either no apprehension data with the name or date of birth written another
        way, or no date of birth with the apprehension dated a day or two off the first record."""
        rng = self.rng
        again["aNumber"] = None
        kind = rng.random()
        if kind < 0.25:  # apprehension kept, date of birth missing, the date a day or two off
            again["dateOfBirth"] = None
            app = dict(first.get("apprehension") or {})
            if not app.get("date"):
                return
            day = date.fromisoformat(app["date"]) + timedelta(days=rng.choice((-2, -1, 1, 2)))
            app["date"] = self.clamp(day).isoformat()
            again["apprehension"] = app
            return
        again["apprehension"] = None
        accents = rng.random() < 0.5
        if kind < 0.50 and (len(child.surnames) > 1 or len(child.given) > 1):
            if len(child.surnames) > 1 and (len(child.given) == 1 or rng.random() < 0.5):
                again["lastName"] = self.mixed(child.surnames[:1], accents)
            else:
                again["firstName"] = self.mixed(child.given[:1], accents)
            again["dateOfBirth"] = child.dob.isoformat()
        elif kind < 0.75 and child.dob.day <= 12 and child.dob.day != child.dob.month:
            again["dateOfBirth"] = date(child.dob.year, child.dob.day, child.dob.month).isoformat()
        else:  # the placeholder 1 January, and a name keyed with a slip
            again["dateOfBirth"] = date(child.dob.year, 1, 1).isoformat()
            key = "firstName" if rng.random() < 0.5 else "lastName"
            again[key] = self.typo(str(again[key]))

    def child_record(self, fam: _Family, child: _Person, admitted: date, no_evidence: bool) -> dict[str, Any]:
        rng, r = self.rng, self.r
        drop_given = len(child.given) > 1 and rng.random() < r.child_drop_given
        given = child.given[:1] if drop_given else child.given
        surnames = child.surnames if rng.random() >= r.child_drop_surname else child.surnames[:1]
        accents = rng.random() < r.accents_kept
        first, last = self.mixed(given, accents), self.mixed(surnames, accents)
        if rng.random() < r.typo_child:
            first = self.typo(first)
        if rng.random() < r.typo_child:
            last = self.typo(last)
        apprehension: dict[str, Any] | None = None
        if not no_evidence and rng.random() >= r.child_no_apprehension:
            shift = 0
            x = rng.random()
            for delta, p in r.child_date_shift:
                if x < p:
                    shift = delta
                    break
                x -= p
            day = fam.event_date + timedelta(days=shift)
            apprehension = {
                "eventId": fam.event_id if rng.random() < r.child_event_id else None,
                "date": day.isoformat() if rng.random() < r.child_app_date else None,
                "station": fam.station if rng.random() < r.child_station else None,
            }
        reported = None
        if not no_evidence and rng.random() < r.reported_parent:
            reported = {
                "name": self.reported_name(fam.parent),
                "relation": "mother" if fam.parent.sex == "F" else "father",
            }
        dob = self.noisy_dob(child.dob, r.dob_null_child)
        facility = rng.choice(self.shelters)
        admitted = self.clamp(admitted)
        updated = self.clamp(admitted + timedelta(days=rng.randint(0, 30)))
        record = {
            "childId": None,
            "aNumber": self.spell_a(child.a_number, r.child_a_null, r.child_a_empty),
            "firstName": first,
            "lastName": last,
            "dateOfBirth": dob.isoformat() if dob else None,
            "sex": None if rng.random() < r.child_sex_null else child.sex,
            "countryOfBirth": child.country[0],
            "facilityId": facility[0],
            "facilityName": facility[1],
            "admittedAt": admitted.isoformat(),
            "apprehension": apprehension,
            "reportedParent": reported,
            "discharge": None,
            "updatedAt": self.stamp(updated),
        }
        self.orr.append(record)
        return record

    def reported_name(self, parent: _Person) -> str:
        rng, r = self.rng, self.r
        x = rng.random()
        forms = r.reported_parent_forms
        g, s = parent.given, parent.surnames
        if x < forms[0]:
            tokens = g[:1]
        elif x < forms[0] + forms[1]:
            tokens = [g[0], s[0]]
        elif x < forms[0] + forms[1] + forms[2]:
            tokens = [*g[:2], s[0]] if len(g) > 1 else [g[0], *s]
        else:
            tokens = [*g, *s]
        name = self.mixed(tokens, accents=rng.random() < 0.6)
        if rng.random() < r.typo_reported:
            name = self.typo(name)
        return name

    def discharge(
        self, records: list[dict[str, Any]], child: _Person, fam: _Family, reunified: bool, discharge_ok: bool
    ) -> None:
        rng, r = self.rng, self.r
        kind: str | None = None
        if reunified:
            kind = "reunified_with_parent"
        elif fam.absent:
            if rng.random() < r.absent_discharge:
                kind = rng.choice(("released_to_sponsor", "other", "reunified_with_parent"))
                if kind == "reunified_with_parent":
                    kind = "released_to_sponsor"  # no parent in the feeds to be reunified with
        elif discharge_ok:
            x = rng.random()
            age = normalise.age_years(child.dob, self.as_of)
            if age >= 16 and x < r.aged_out:
                kind = "aged_out"
            elif x < r.released_to_sponsor:
                kind = "released_to_sponsor"
            elif x < r.released_to_sponsor + r.other_discharge:
                kind = "other"
        if kind is None:
            return
        record = rng.choice(records)
        admitted = date.fromisoformat(record["admittedAt"])
        if admitted >= self.as_of:
            return
        day = self.clamp(admitted + timedelta(days=rng.randint(1, 66)))
        record["discharge"] = {"date": day.isoformat(), "type": kind}

    def dna_result(
        self, fam: _Family, child: _Person, records: list[dict[str, Any]], adult: dict[str, Any]
    ) -> None:
        rng, r = self.rng, self.r
        if fam.fraud:
            result = "exclusion"
        else:
            x = rng.random()
            result = "inconclusive"
            if x < r.dna_results[0]:
                result = "match"
            elif x < r.dna_results[0] + r.dna_results[1]:
                result = "pending"
        child_a = f"{child.a_number:09d}" if rng.random() < r.dna_child_a_number else None
        day = self.as_of - timedelta(days=rng.randint(3, 11))
        self.dna.append(
            {
                "case_id": None,
                "adult_a_number": f"{fam.parent.a_number:09d}",
                "child_a_number": child_a,
                "adult_subject_id": adult,  # replaced by the id once ids are dealt
                "child_id": rng.choice(records),
                "result": result,
                "reported_at": f"{day.isoformat()}T12:00:00Z",
            }
        )

    # ---- unrelated adults

    def other_adult(self) -> None:
        rng, r = self.rng, self.r
        sex = "F" if rng.random() < r.other_female else "M"
        p = self.person(sex, 18 + int(rng.random() * 42), _OTHER_COUNTRY(rng), two_given=0.35)
        if rng.random() < r.other_no_apprehension:
            app: tuple[str | None, date | None, str | None] = (None, None, None)
            day = self.as_of - timedelta(days=int(rng.random() * (self.period + 22)))
        else:
            when = self.app_date()
            app = (
                self.event_id() if rng.random() < r.other_event_id else None,
                when,
                self.pick(self.stations) if rng.random() < r.other_station else None,
            )
            room = max(0, (self.as_of - when).days)
            day = when + timedelta(days=min(room, int(rng.triangular(0, 80, 5))))
        x, outcome = rng.random(), 3
        for k, prob in enumerate(r.other_outcomes):
            if x < prob:
                outcome = k
                break
            x -= prob
        status = ("detained", "released", "removed", "criminal_custody")[outcome]
        x = rng.random()
        history: str | None = "none"
        if x < r.other_serious:
            history = "serious"
        elif x < r.other_serious + r.other_history_unknown:
            history = None
        elif x < r.other_serious + r.other_history_unknown + r.other_non_serious:
            history = "non_serious"
        claims = []
        if rng.random() < r.other_claims:
            kid = self.person(
                "F" if rng.random() < 0.5 else "M", _CHILD_AGE(rng), p.country, [p.surnames[0], _SURNAME(rng)]
            )
            claims.append(self.claim(kid))
        self.ice_record(
            p,
            None,
            status,
            day,
            history,
            rng.random() < r.other_medical_hold,
            claims,
            parent=False,
            apprehension=app,
        )
        if status == "removed" and rng.random() < r.other_removal_row:
            self.removal_row(p, self.clamp(day + timedelta(days=rng.randint(0, 30))), parent=False)

    def removal_only(self) -> None:
        rng, r = self.rng, self.r
        sex = "F" if rng.random() < r.other_female else "M"
        p = self.person(sex, 18 + int(rng.random() * 42), _OTHER_COUNTRY(rng), two_given=0.3)
        span = (self.as_of - self.removal_start).days
        day = self.removal_start + timedelta(days=int(rng.random() * (span + 1)))
        self.removal_row(p, day, parent=False)


_ORR_JUNK: tuple[Any, ...] = (
    {"childId": None, "firstName": 12345},
    "not an object",
    {"aNumber": "A-000-000-000", "firstName": "NO", "lastName": "ID"},
    {"childId": "@", "firstName": "X", "lastName": "Y", "dateOfBirth": 20120519},
    {"childId": "@", "firstName": "X", "lastName": "Y", "admittedAt": "2018-13-45"},
    {"childId": "@", "firstName": "X", "discharge": {"date": "2018-06-01", "type": "escaped"}},
)
_ICE_JUNK: tuple[Any, ...] = (
    {"subject_id": None, "first_name": None},
    ["garbage"],
    {"subject_id": "@", "first_name": "X", "last_name": "Y", "medical_hold": "yes"},
    {"subject_id": "@", "first_name": "X", "last_name": "Y", "birth_date": "31/12/1980"},
    {"subject_id": "@", "first_name": "X", "custody": {"status": "deported", "as_of": "2018-06-01"}},
)
_DNA_JUNK: tuple[Any, ...] = (
    {"case_id": None, "result": "match"},
    {"case_id": "@", "result": "maybe", "reported_at": "2018-07-01T12:00:00Z"},
    42,
)


def _period_for(n_children: int) -> int:
    """Days of apprehensions: the sample's two months, longer for big worlds."""
    if n_children <= _SMALL_WORLD:
        return 62
    return min(730, int(62 * (n_children / _SMALL_WORLD) ** 0.5))


def _stations_for(n_children: int) -> int:
    if n_children <= _SMALL_WORLD:
        return 15
    return min(len(names.STATIONS), int(15 * (n_children / _SMALL_WORLD) ** 0.5))


def generate_world(
    n_children: int,
    seed: int,
    *,
    as_of: date = DEFAULT_AS_OF,
    rates: Rates | None = None,
    period_days: int | None = None,
    n_stations: int | None = None,
) -> World:
    """A synthetic world of about ``n_children`` children shaped like the sample; same seed, same world.

    Volumes follow the sample: per child about 7.7 ICE records and 7 removal rows, so 2,300
    children give ~17,800 ICE records and 100,000 children ~1.6 million feed records. Worlds
    above 2,500 children span a longer period (``period_days``) over more stations.
    """
    if n_children < 1:
        raise ValueError("n_children must be at least 1")
    # Millions of small dicts and no cycles: the cyclic collector would only rescan them.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _generate(n_children, seed, as_of, rates or Rates(), period_days, n_stations)
    finally:
        if was_enabled:
            gc.enable()


def _generate(
    n_children: int, seed: int, as_of: date, rates: Rates, period_days: int | None, n_stations: int | None
) -> World:
    rng = random.Random(seed)
    gen = _Generator(
        rng,
        as_of,
        rates,
        period_days=period_days or _period_for(n_children),
        n_stations=n_stations or _stations_for(n_children),
        n_shelters=max(12, min(400, n_children // 170)),
    )
    links: list[ChildLink] = []
    made = 0
    while made < n_children:
        fam = gen.family()
        if len(fam.children) > n_children - made:
            fam.children = fam.children[: n_children - made]
        gen.build_family(fam, links)
        made += len(fam.children)
    for _ in range(round(rates.adults_per_child * n_children)):
        gen.other_adult()
    for _ in range(max(0, round(rates.removal_rows_per_child * n_children) - len(gen.rows))):
        gen.removal_only()

    # Deal ids independently of payload order, as the sample does: neither leaks a family.
    for payload, key, fmt in (
        (gen.orr, "childId", "ORR-{:07d}"),
        (gen.ice, "subject_id", "ICE-{:08d}"),
        (gen.dna, "case_id", "DNA-{:07d}"),
    ):
        numbers = list(range(1, len(payload) + 1))
        rng.shuffle(numbers)
        for rec, num in zip(payload, numbers, strict=True):
            rec[key] = fmt.format(num)
        rng.shuffle(payload)
    numbers = list(range(1, len(gen.rows) + 1))
    rng.shuffle(numbers)
    for row, num in zip(gen.rows, numbers, strict=True):
        row[0] = f"RM-{num:08d}"
    rng.shuffle(gen.rows)
    for result in gen.dna:
        result["adult_subject_id"] = result["adult_subject_id"]["subject_id"]
        result["child_id"] = result["child_id"]["childId"]
    for link, records, parent_ice, parent_rows in gen.pending_links:
        link.child_record_ids = [rec["childId"] for rec in records]
        link.ice_record_ids = [rec["subject_id"] for rec in parent_ice]
        link.removal_record_ids = [row[0] for row in parent_rows]

    world = World(
        as_of=as_of,
        seed=seed,
        orr=list(gen.orr),
        ice=list(gen.ice),
        removals=gen.rows,
        dna=list(gen.dna),
        links=links,
    )
    _add_malformed(world, rng, rates)
    world.truth = compute_truth(world)
    return world


def _add_malformed(world: World, rng: random.Random, rates: Rates) -> None:
    """Insert a few contract-breaking entries per feed at random places and note their indexes."""
    plans: list[tuple[str, int, tuple[Any, ...], str, str]] = [
        ("orr", round(rates.malformed_orr * len(world.orr)), _ORR_JUNK, "childId", "ORR-9{:06d}"),
        ("ice", round(rates.malformed_ice * len(world.ice)), _ICE_JUNK, "subject_id", "ICE-9{:07d}"),
        ("dna", round(rates.malformed_dna * len(world.dna)), _DNA_JUNK, "case_id", "DNA-9{:06d}"),
    ]
    inserted: dict[str, set[int]] = {feed: set() for feed in FEEDS}  # id() of each junk entry
    for feed, count, junk, key, fmt in plans:
        payload = getattr(world, feed)
        for k in range(count):
            item = json.loads(json.dumps(junk[k % len(junk)]))
            if isinstance(item, dict) and item.get(key) == "@":
                item[key] = fmt.format(k + 1)  # a fresh id: only the malformed entry carries it
            payload.insert(rng.randrange(len(payload) + 1), item)
            inserted[feed].add(id(item))
    rows = world.removals
    for k in range(round(rates.malformed_removals * len(rows))):
        rid = f"RM-9{k + 1:07d}"
        bad = (
            [rid, "A-200-000-001", "GARCIA"]
            if k % 2 == 0
            else [rid, "", "LOPEZ", "JOSE", "", "GUATEMALA", "2018-13-01", "EL PASO TX"]
        )
        rows.insert(rng.randrange(len(rows) + 1), bad)
        inserted["removals"].add(id(bad))
    # Indexes by identity: parsing a million records again just to find a few is too slow.
    world.malformed = {
        feed: [i for i, item in enumerate(getattr(world, feed)) if id(item) in inserted[feed]]
        for feed in FEEDS
    }
