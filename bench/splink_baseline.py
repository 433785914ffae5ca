"""Competitor baseline: the parent-child reconciliation done with Splink 5 (DuckDB backend).

This is what a skilled Splink user would build for the contract's problem, so that Reunify's own
engine is compared against a fair opponent:

1. parse the four feeds with the project's parsers (malformed records skipped, the latest copy of
   a duplicated id wins);
2. merge the child's duplicate ORR records (re-referrals) with a Splink dedupe;
3. resolve each adult's identity across duplicate ICE records and the removal list with a Splink
   dedupe over ICE + removal rows;
4. link children to adults with a Splink ``link_only`` model whose features are engineered for
   the domain (Spanish surname lines, the parent name the child reported, the adult's claimed
   children, apprehension event / date / station, country, age gap, DNA case ids), with u
   estimated by random sampling and m by expectation maximisation;
5. pick the best adult per child above a threshold, and apply the contract's classification rules
   (section 4) to produce section 5 export objects.

No truth data is read anywhere; the same code runs on the sample and on generated worlds.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

from pipeline import normalise
from pipeline.classify import RESOLVED_STATES, StatusFacts, status_of
from pipeline.errors import MalformedRecord
from pipeline.parse import PARSERS
from pipeline.records import AdultRecord, ChildRecord, DnaResult, FeedSnapshot, RemovalRecord

FEEDS = ("orr", "ice", "removals", "dna")
_OLDEST = datetime(1970, 1, 1, tzinfo=UTC)

#: Link threshold on Splink's match probability for the best adult of a child. A wrong parent is
#: worse than none (CONTRACT section 4), so the bar is above Splink's usual 0.5; chosen on the
#: sample world (0.5-0.8 give the same precision there, 0.9+ loses recall).
LINK_THRESHOLD = 0.7
#: Cluster thresholds for the two dedupe models.
ADULT_CLUSTER_THRESHOLD = 0.95
CHILD_CLUSTER_THRESHOLD = 0.95
SEED = 42
#: Smallest m-probability a trained level keeps. EM drives the m of a sparse level (a surname
#: typo, a two-day date gap) to ~0, which then vetoes a true pair outright; every feed here has
#: typos, so a skilled user floors m (Laplace-style smoothing) before predicting.
M_FLOOR = 0.01

_CUSTODY_STATE = {
    "detained": "in_ice_custody",
    "criminal_custody": "in_criminal_custody",
    "released": "released",
    "removed": "removed",
}
_US = frozenset({"UNITED STATES", "USA", "US", "UNITED STATES OF AMERICA", "ESTADOS UNIDOS"})


# --------------------------------------------------------------------------------------------
# Input: payloads -> FeedSnapshot
# --------------------------------------------------------------------------------------------


def load_payloads(directory: str | Path) -> dict[str, Any]:
    """The four feeds' raw payloads from a directory laid out like ``shared/samples``."""
    root = Path(directory)
    dna_path = root / "dna_results.json"
    return {
        "orr": json.loads((root / "orr_children.json").read_text()),
        "ice": json.loads((root / "ice_detainees.json").read_text()),
        "removals": (root / "removals.csv").read_text(),
        "dna": json.loads(dna_path.read_text()) if dna_path.exists() else [],
    }


def _payloads_of(source: Any) -> dict[str, Any]:
    """Accept a payload dict, a sample directory, or a simulated World (``.payloads`` or attributes)."""
    if isinstance(source, str | Path):
        return load_payloads(source)
    if isinstance(source, Mapping):
        return dict(source)
    payloads = getattr(source, "payloads", None)
    if isinstance(payloads, Mapping):
        return dict(payloads)
    found = {name: getattr(source, name) for name in FEEDS if hasattr(source, name)}
    if callable(getattr(source, "removals_csv", None)):
        found["removals"] = source.removals_csv()  # a simulated World keeps the rows header-less
    if "orr" in found:
        return found
    raise TypeError(f"cannot find the four feed payloads in {type(source).__name__}")


def _records(payload: Any, key: str) -> list[Any]:
    """A feed's raw records from its payload: a list, one page, or a list of pages."""
    if payload is None:
        return []
    if isinstance(payload, Mapping):
        return list(payload.get(key) or [])
    out: list[Any] = []
    for item in payload:
        if isinstance(item, Mapping) and isinstance(item.get(key), list) and len(item) <= 5:
            out.extend(item[key])  # a page
        else:
            out.append(item)
    return out


def _removal_rows(payload: Any) -> list[Any]:
    if payload is None:
        return []
    if isinstance(payload, bytes):
        payload = payload.decode("utf-8")
    if isinstance(payload, str):
        return list(csv.DictReader(io.StringIO(payload)))
    return list(payload)


def parse_snapshot(source: Any) -> FeedSnapshot:
    """Parse every feed; malformed records are skipped; per id the latest update wins."""
    payloads = _payloads_of(source)
    raw = {
        "orr": _records(payloads.get("orr"), "children"),
        "ice": _records(payloads.get("ice"), "detainees"),
        "removals": _removal_rows(payloads.get("removals")),
        "dna": _records(payloads.get("dna"), "results"),
    }
    parsed: dict[str, dict[str, Any]] = {name: {} for name in FEEDS}
    for name in FEEDS:
        parser = PARSERS[name]
        for item in raw[name]:
            try:
                record = parser(item)
            except MalformedRecord:
                continue
            kept = parsed[name].get(record.record_id)
            if kept is None or _stamp(record) >= _stamp(kept):
                parsed[name][record.record_id] = record
    return FeedSnapshot(
        children=list(parsed["orr"].values()),
        adults=list(parsed["ice"].values()),
        removals=list(parsed["removals"].values()),
        dna=list(parsed["dna"].values()),
    )


def _stamp(record: Any) -> datetime:
    return getattr(record, "updated_at", None) or getattr(record, "reported_at", None) or _OLDEST


# --------------------------------------------------------------------------------------------
# Feature engineering
# --------------------------------------------------------------------------------------------


def _given(first_name: str) -> str | None:
    toks = normalise.tokens(first_name)
    return toks[0] if toks else None


def _surnames(last_name: str) -> list[str]:
    return normalise.tokens(last_name)


def _name_keys(name: str) -> list[str]:
    """``FIRST SURNAME`` keys of a free-text child name (the claimed-children list's form)."""
    toks = normalise.tokens(name)
    if len(toks) < 2:
        return []
    keys = {f"{toks[0]} {toks[-1]}"}
    if len(toks) >= 3:
        keys.add(f"{toks[0]} {toks[-2]}")
    return sorted(keys)


def _none_if_empty(values: Iterable[str | None]) -> list[str] | None:
    out = sorted({v for v in values if v})
    return out or None


LINK_SCHEMA = pa.schema(
    [
        ("unique_id", pa.string()),
        ("event_id", pa.string()),
        ("app_date", pa.date32()),
        ("station", pa.string()),
        ("country", pa.string()),
        # father line: the child's first surname / the adult's first surname
        ("fs", pa.string()),
        # mother line: the child's second surname / the adult's first surname
        ("ms", pa.string()),
        # the parent's given name: reported by the child / the adult's own
        ("pname", pa.string()),
        # all tokens of the parent's name: reported by the child / the adult's own
        ("pname_tokens", pa.list_(pa.string())),
        # the parent's sex: from the relation the child reported / the adult's own
        ("parent_sex", pa.string()),
        # child name keys: the child's own / the adult's claimed children
        ("claim_keys", pa.list_(pa.string())),
        ("claim_first", pa.list_(pa.string())),
        ("claim_dobs", pa.list_(pa.date32())),
        ("dob", pa.date32()),
        # DNA: adult ids named in the child's DNA cases / the adult's own ids
        ("dna_keys", pa.list_(pa.string())),
    ]
)


def _child_link_row(c: ChildRecord, dna_keys: list[str] | None) -> dict[str, Any]:
    s = _surnames(c.last_name)
    given = _given(c.first_name)
    reported = normalise.tokens(c.reported_parent_name)
    relation = (c.reported_parent_relation or "").lower()
    keys = [f"{given} {s[0]}"] if given and s else []
    return {
        "unique_id": c.record_id,
        "event_id": c.event_id,
        "app_date": c.apprehension_date,
        "station": c.station,
        # the child's country of birth stands for the parent's citizenship, except for a US-born child
        "country": None if c.country in _US else c.country,
        "fs": s[0] if s else None,
        "ms": s[1] if len(s) > 1 else None,
        "pname": reported[0] if reported else None,
        "pname_tokens": reported or None,
        "parent_sex": {"mother": "F", "father": "M"}.get(relation),
        "claim_keys": keys or None,
        "claim_first": [given] if given else None,
        "claim_dobs": [c.dob] if c.dob else None,
        "dob": c.dob,
        "dna_keys": dna_keys,
    }


def _adult_link_row(a: AdultRecord) -> dict[str, Any]:
    s = _surnames(a.last_name)
    claimed_keys = [k for ch in a.claimed_children for k in _name_keys(ch.name)]
    claimed_first = [_given(ch.name) for ch in a.claimed_children]
    claimed_dobs = sorted({ch.dob for ch in a.claimed_children if ch.dob})
    return {
        "unique_id": a.record_id,
        "event_id": a.event_id,
        "app_date": a.apprehension_date,
        "station": a.station,
        "country": a.country,
        "fs": s[0] if s else None,
        "ms": s[0] if s else None,
        "pname": _given(a.first_name),
        "pname_tokens": _none_if_empty([*normalise.tokens(a.first_name), *s]),
        "parent_sex": (a.sex or "").upper()[:1] or None,
        "claim_keys": _none_if_empty(claimed_keys),
        "claim_first": _none_if_empty(claimed_first),
        "claim_dobs": claimed_dobs or None,
        "dob": a.dob,
        "dna_keys": _none_if_empty([a.record_id, a.a_number]),
    }


def _removal_link_row(r: RemovalRecord) -> dict[str, Any]:
    s = _surnames(r.last_name)
    return {
        "unique_id": r.record_id,
        "event_id": None,
        "app_date": None,
        "station": None,
        "country": r.country,
        "fs": s[0] if s else None,
        "ms": s[0] if s else None,
        "pname": _given(r.first_name),
        "pname_tokens": _none_if_empty([*normalise.tokens(r.first_name), *s]),
        "parent_sex": None,
        "claim_keys": None,
        "claim_first": None,
        "claim_dobs": None,
        "dob": r.dob,
        "dna_keys": _none_if_empty([r.a_number]),
    }


PERSON_SCHEMA = pa.schema(
    [
        ("unique_id", pa.string()),
        ("a_number", pa.string()),
        ("given", pa.string()),
        ("given_full", pa.string()),
        ("s1", pa.string()),
        ("surname_full", pa.string()),
        ("dob", pa.date32()),
        ("country", pa.string()),
        ("app_date", pa.date32()),
        ("station", pa.string()),
        ("event_id", pa.string()),
    ]
)


def _person_row(record: ChildRecord | AdultRecord | RemovalRecord) -> dict[str, Any]:
    s = _surnames(record.last_name)
    return {
        "unique_id": record.record_id,
        "a_number": record.a_number,
        "given": _given(record.first_name),
        "given_full": normalise.fold(record.first_name) or None,
        "s1": s[0] if s else None,
        "surname_full": " ".join(s) or None,
        "dob": record.dob,
        "country": record.country,
        "app_date": getattr(record, "apprehension_date", None),
        "station": getattr(record, "station", None),
        "event_id": getattr(record, "event_id", None),
    }


# --------------------------------------------------------------------------------------------
# Splink models
# --------------------------------------------------------------------------------------------


def _person_comparisons(with_apprehension: bool) -> list[Any]:
    comparisons: list[Any] = [
        cl.CustomComparison(
            output_column_name="a_number",
            comparison_levels=[
                cll.NullLevel("a_number"),
                cll.ExactMatchLevel("a_number"),
                cll.DamerauLevenshteinLevel("a_number", 1),
                cll.ElseLevel(),
            ],
        ),
        cl.NameComparison("given_full", jaro_winkler_thresholds=[0.92, 0.8]),
        cl.CustomComparison(
            output_column_name="surname",
            comparison_levels=[
                cll.NullLevel("surname_full"),
                cll.ExactMatchLevel("surname_full"),
                cll.ExactMatchLevel("s1"),
                cll.JaroWinklerLevel("surname_full", 0.88),
                cll.ElseLevel(),
            ],
        ),
        cl.DateOfBirthComparison("dob", input_is_string=False),
        cl.ExactMatch("country"),
    ]
    if with_apprehension:
        # Siblings share the event, date and station: apprehension is weak evidence of identity.
        comparisons.append(
            cl.AbsoluteDateDifferenceAtThresholds(
                "app_date", input_is_string=False, metrics="day", thresholds=[2]
            )
        )
    return comparisons


def _dedupe_clusters(
    rows: list[dict[str, Any]], *, with_apprehension: bool, threshold: float, name: str
) -> dict[str, str]:
    """Splink dedupe of person records: record id -> cluster id."""
    ids = [r["unique_id"] for r in rows]
    if len(rows) < 2:
        return {i: i for i in ids}
    db_api = DuckDBAPI()
    table = db_api.register(pa.Table.from_pylist(rows, schema=PERSON_SCHEMA), dataset_display_name=name)
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=_person_comparisons(with_apprehension),
        blocking_rules_to_generate_predictions=[
            block_on("a_number"),
            block_on("dob", "s1"),
            block_on("given", "s1", "country"),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
        max_iterations=25,
    )
    linker = Linker(table, settings, log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("a_number", "dob"), block_on("given_full", "surname_full", "dob")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=SEED)
    for rule in (block_on("a_number"), block_on("dob")):
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, estimate_without_term_frequencies=True
            )
        except Exception:  # EM can fail on a tiny or degenerate block; keep the priors then
            logging.getLogger(__name__).warning("EM on %s for %s did not converge", rule, name)
    predictions = linker.inference.predict(threshold_match_probability=0.5, warning_mode="never")
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=threshold
    )
    frame = clusters.as_pandas_dataframe()
    out = dict(zip(frame["unique_id"], frame["cluster_id"], strict=True))
    for i in ids:
        out.setdefault(i, i)
    return out


def _smoothed(model: dict[str, Any], floor: float = M_FLOOR) -> dict[str, Any]:
    """The trained model with every non-null level's m at least ``floor`` (renormalised)."""
    for comparison in model["comparisons"]:
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        ms = []
        for lv in levels:
            m = lv.get("m_probability")
            ms.append(max(float(m), floor) if isinstance(m, int | float) else floor)
        total = sum(ms)
        for lv, m in zip(levels, ms, strict=True):
            lv["m_probability"] = m / total
    return model


def _link_comparisons() -> list[Any]:
    """The child-adult comparisons: every one written so either side can be l or r."""
    fuzzy_claim = (
        "list_max(list_transform(claim_keys_l, lambda x: list_max(list_transform(claim_keys_r, "
        "lambda y: jaro_winkler_similarity(x, y))))) >= 0.88"
    )
    return [
        cl.ExactMatch("event_id"),
        cl.AbsoluteDateDifferenceAtThresholds(
            "app_date", input_is_string=False, metrics=["day", "day"], thresholds=[1, 2]
        ),
        cl.ExactMatch("station"),
        cl.ExactMatch("country"),
        cl.CustomComparison(
            output_column_name="surname_line",
            comparison_description="adult's first surname vs the child's father/mother surname",
            comparison_levels=[
                cll.CustomLevel(
                    "(fs_l is null or fs_r is null) and (ms_l is null or ms_r is null)"
                ).configure(is_null_level=True),
                cll.CustomLevel("fs_l = fs_r or ms_l = ms_r", "surname line exact"),
                cll.CustomLevel(
                    "jaro_winkler_similarity(fs_l, fs_r) >= 0.9 "
                    "or jaro_winkler_similarity(ms_l, ms_r) >= 0.9",
                    "surname line fuzzy",
                ),
                cll.ElseLevel(),
            ],
        ),
        cl.CustomComparison(
            output_column_name="parent_name",
            comparison_description="parent name the child reported vs the adult's name",
            comparison_levels=[
                cll.NullLevel("pname"),
                cll.And(cll.ExactMatchLevel("pname"), cll.ArrayIntersectLevel("pname_tokens", 2)).configure(
                    label_for_charts="given name and a surname"
                ),
                cll.ExactMatchLevel("pname", term_frequency_adjustments=True),
                cll.JaroWinklerLevel("pname", 0.9),
                cll.LevenshteinLevel("pname", 2),
                cll.ElseLevel(),
            ],
        ),
        cl.ExactMatch("parent_sex"),
        cl.CustomComparison(
            output_column_name="claimed_child",
            comparison_description="the child vs the children the adult claimed",
            comparison_levels=[
                cll.NullLevel("claim_first"),
                cll.And(
                    cll.ArrayIntersectLevel("claim_keys", 1), cll.ArrayIntersectLevel("claim_dobs", 1)
                ).configure(label_for_charts="name key and dob"),
                cll.ArrayIntersectLevel("claim_keys", 1),
                cll.CustomLevel(fuzzy_claim, "fuzzy name key"),
                cll.ArrayIntersectLevel("claim_first", 1),
                cll.ElseLevel(),
            ],
        ),
        cl.CustomComparison(
            output_column_name="age_gap",
            comparison_description="years between the adult's and the child's dates of birth",
            comparison_levels=[
                cll.NullLevel("dob"),
                cll.CustomLevel("abs(date_diff('year', dob_l, dob_r)) between 15 and 50", "15-50 years"),
                cll.CustomLevel("abs(date_diff('year', dob_l, dob_r)) between 12 and 65", "12-65 years"),
                cll.ElseLevel(),
            ],
        ),
        cl.CustomComparison(
            output_column_name="dna_case",
            comparison_description="a DNA case names this adult for this child",
            comparison_levels=[
                cll.NullLevel("dna_keys"),
                cll.ArrayIntersectLevel("dna_keys", 1),
                cll.ElseLevel(),
            ],
        ),
    ]


LINK_BLOCKING_RULES = [
    block_on("event_id"),
    block_on("app_date", "station"),
    block_on("fs", "pname"),
    block_on("ms", "pname"),
    block_on("fs", "station"),
    block_on("ms", "station"),
    block_on("fs", "country", "app_date"),
    block_on("ms", "country", "app_date"),
    block_on("claim_keys", arrays_to_explode=["claim_keys"]),
    block_on("dna_keys", arrays_to_explode=["dna_keys"]),
]


def _link(children_rows: list[dict[str, Any]], adult_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Splink link_only children x adults: the scored candidate pairs (child id, adult id, p)."""
    if not children_rows or not adult_rows:
        return []
    db_api = DuckDBAPI()
    left = db_api.register(
        pa.Table.from_pylist(children_rows, schema=LINK_SCHEMA), dataset_display_name="children"
    )
    right = db_api.register(
        pa.Table.from_pylist(adult_rows, schema=LINK_SCHEMA), dataset_display_name="adults"
    )
    # About one parent per child, and a parent has one or two records (ICE, removal list).
    prior = min(0.5, 1.5 / len(adult_rows))
    settings = SettingsCreator(
        link_type="link_only",
        comparisons=_link_comparisons(),
        blocking_rules_to_generate_predictions=LINK_BLOCKING_RULES,
        probability_two_random_records_match=prior,
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
        max_iterations=30,
    )
    linker = Linker([left, right], settings, log_level=logging.WARNING)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e7, seed=SEED)
    for rule in (block_on("app_date", "station"), block_on("fs", "pname"), block_on("event_id")):
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, estimate_without_term_frequencies=True
            )
        except Exception:
            logging.getLogger(__name__).warning("EM on %s did not converge", rule)
    linker = Linker([left, right], _smoothed(linker.misc.save_model_to_json()), log_level=logging.WARNING)
    predictions = linker.inference.predict(threshold_match_probability=0.05, warning_mode="never")
    frame = predictions.as_pandas_dataframe()
    out = []
    for row in frame.itertuples(index=False):
        if row.source_dataset_l == "children":
            child, adult = row.unique_id_l, row.unique_id_r
        else:
            child, adult = row.unique_id_r, row.unique_id_l
        out.append({"child": child, "adult": adult, "p": float(row.match_probability)})
    return out


# --------------------------------------------------------------------------------------------
# Classification (CONTRACT section 4) and export (section 5)
# --------------------------------------------------------------------------------------------


@dataclass
class _Parent:
    ice: list[AdultRecord] = field(default_factory=list)
    removals: list[RemovalRecord] = field(default_factory=list)
    score: float = 0.0

    @property
    def a_numbers(self) -> set[str]:
        return {r.a_number for r in [*self.ice, *self.removals] if r.a_number}

    @property
    def record_ids(self) -> set[str]:
        return {r.record_id for r in [*self.ice, *self.removals]}


def _location(parent: _Parent) -> tuple[str, date | None, str | None, str | None]:
    """Latest-dated custody event: (state, since, facility, country); removal wins a tie."""
    events: list[tuple[date, int, str, str | None, str | None]] = []
    for a in parent.ice:
        state = _CUSTODY_STATE.get(a.custody_status or "")
        if state and a.custody_as_of:
            events.append((a.custody_as_of, 0, state, a.facility_name, a.country))
    for r in parent.removals:
        events.append((r.removal_date, 1, "removed", None, r.country))
    if not events:
        return "unknown", None, None, None
    when, _, state, facility, country = max(events, key=lambda e: (e[0], e[1]))
    return state, when, facility, country


def _dna_for(children: list[ChildRecord], parent: _Parent, dna: list[DnaResult]) -> list[DnaResult]:
    child_ids = {c.record_id for c in children}
    child_anums = {c.a_number for c in children if c.a_number}
    adult_ids, adult_anums = parent.record_ids, parent.a_numbers
    out = []
    for d in dna:
        child_hit = d.child_record_id in child_ids or (d.child_a_number and d.child_a_number in child_anums)
        adult_hit = d.adult_record_id in adult_ids or (d.adult_a_number and d.adult_a_number in adult_anums)
        if child_hit and adult_hit:
            out.append(d)
    return out


def _classify(children: list[ChildRecord], parent: _Parent | None, dna: list[DnaResult], as_of: date) -> dict:
    children = sorted(children, key=lambda c: c.record_id)
    discharges = [c.discharge_type for c in children if c.discharge_type]
    dna_hits = _dna_for(children, parent, dna) if parent else []
    reasons: list[str] = []
    state, since, facility, country = ("unknown", None, None, None)
    if parent:
        state, since, facility, country = _location(parent)
    excluded = any(d.result == "exclusion" for d in dna_hits)
    # Flags about the adult hold only while the adult is taken to be the parent.
    serious = bool(parent) and not excluded and any(a.criminal_history == "serious" for a in parent.ice)
    medical = bool(parent) and not excluded and any(a.medical_hold for a in parent.ice)
    if serious:
        reasons.append("serious_criminal_history")
    if medical:
        reasons.append("communicable_disease")
    if any(c.country in _US for c in children):
        reasons.append("possible_us_citizen")
    if not excluded and any(d.result == "pending" for d in dna_hits):
        reasons.append("dna_pending")
    reasons.sort()

    reunified = "reunified_with_parent" in discharges
    # the pipeline's status table (its precedence), over the facts this baseline found
    status = status_of(
        StatusFacts(
            reunified=reunified,
            discharged=bool(discharges),
            linked=parent is not None,
            dna_exclusion=excluded,
            location=state,
            safety=serious or medical,
        )
    )
    if reunified:
        state, facility = "with_child", None
    if excluded and status != "reunified":
        state, since, facility, country = "unknown", None, None, None

    dobs = [c.dob for c in children if c.dob]
    dob = dobs[0] if dobs else None
    age = normalise.age_years(dob, as_of) if dob else None
    cohort = "unknown" if age is None else ("under_5" if age < 5 else "5_and_over")
    resolved = state in RESOLVED_STATES
    first = children[0]
    parent_obj = None
    if parent:
        named = (parent.ice or parent.removals)[0]
        parent_obj = {
            "ice_record_ids": sorted(a.record_id for a in parent.ice),
            "removal_record_ids": sorted(r.record_id for r in parent.removals),
            "a_number": min(parent.a_numbers) if parent.a_numbers else None,
            "name": named.name,
            "match_score": round(parent.score, 4),
            "evidence": ["splink link_only match probability"],
        }
    return {
        "child_record_ids": [c.record_id for c in children],
        "a_number": next((c.a_number for c in children if c.a_number), None),
        "name": first.name,
        "date_of_birth": dob.isoformat() if dob else None,
        "age_years": age,
        "cohort": cohort,
        "status": status,
        "reasons": reasons,
        "parent": parent_obj,
        "parent_location": {
            "state": state,
            "resolved": resolved,
            "facility": facility if state in ("in_ice_custody", "in_criminal_custody") else None,
            "country": country,
            "since": since.isoformat() if since else None,
            "days_unresolved": None if resolved or since is None else (as_of - since).days,
        },
        "needs_review": False,
        "run_id": "splink-baseline",
    }


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def _dna_keys_by_child(
    children: Sequence[ChildRecord], dna: Sequence[DnaResult]
) -> dict[str, list[str] | None]:
    by_id: dict[str, set[str]] = defaultdict(set)
    by_anum: dict[str, set[str]] = defaultdict(set)
    for d in dna:
        keys = {k for k in (d.adult_record_id, d.adult_a_number) if k}
        if d.child_record_id:
            by_id[d.child_record_id] |= keys
        if d.child_a_number:
            by_anum[d.child_a_number] |= keys
    out = {}
    for c in children:
        keys = by_id.get(c.record_id, set()) | (by_anum.get(c.a_number, set()) if c.a_number else set())
        out[c.record_id] = sorted(keys) or None
    return out


def run_splink(payloads_or_world: Any, as_of: date, *, threshold: float = LINK_THRESHOLD) -> list[dict]:
    """Reconcile the feeds with Splink and the contract's rules: one export object per child."""
    snap = parse_snapshot(payloads_or_world)
    children = {c.record_id: c for c in snap.children}
    ice = {a.record_id: a for a in snap.adults}
    removals = {r.record_id: r for r in snap.removals}

    # 1. Children: merge re-referrals.
    child_cluster = _dedupe_clusters(
        [_person_row(c) for c in children.values()],
        with_apprehension=True,
        threshold=CHILD_CLUSTER_THRESHOLD,
        name="children",
    )
    # 2. Adults: one identity across ICE duplicates and the removal list.
    adult_cluster = _dedupe_clusters(
        [_person_row(a) for a in ice.values()] + [_person_row(r) for r in removals.values()],
        with_apprehension=False,
        threshold=ADULT_CLUSTER_THRESHOLD,
        name="adults",
    )
    # 3. Link child records to adult records.
    dna_keys = _dna_keys_by_child(list(children.values()), snap.dna)
    pairs = _link(
        [_child_link_row(c, dna_keys[c.record_id]) for c in children.values()],
        [_adult_link_row(a) for a in ice.values()] + [_removal_link_row(r) for r in removals.values()],
    )
    # 4. Best adult identity per child identity (max over their records' pairs).
    best: dict[str, tuple[float, str]] = {}
    for pair in pairs:
        ck, ak = child_cluster[pair["child"]], adult_cluster[pair["adult"]]
        if ck not in best or pair["p"] > best[ck][0]:
            best[ck] = (pair["p"], ak)
    adult_members: dict[str, list[str]] = defaultdict(list)
    for rid, ak in adult_cluster.items():
        adult_members[ak].append(rid)
    child_members: dict[str, list[ChildRecord]] = defaultdict(list)
    for rid, ck in child_cluster.items():
        child_members[ck].append(children[rid])

    out = []
    for ck, members in child_members.items():
        parent = None
        if ck in best and best[ck][0] >= threshold:
            p, ak = best[ck]
            ids = adult_members[ak]
            parent = _Parent(
                ice=[ice[i] for i in sorted(ids) if i in ice],
                removals=[removals[i] for i in sorted(ids) if i in removals],
                score=p,
            )
        out.append(_classify(members, parent, snap.dna, as_of))
    out.sort(key=lambda o: min(o["child_record_ids"]))
    return out
