"""The reconciliation through workers: ``prepare_run`` (global), ``match_partition`` (one step
per partition, any worker), ``finish_run`` (global). They hand the matching state on through
the store as the artifacts that ``pipeline.match.state`` lays out (ids and weights only)."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any

from pipeline import jsontext
from pipeline.dates import screen
from pipeline.errors import RunFailedError
from pipeline.feed_registry import PARSERS
from pipeline.logging import bound, get_logger
from pipeline.match import link_state, state
from pipeline.match.adults import Person
from pipeline.match.blocking import DnaIndex
from pipeline.match.comparisons import Gamma
from pipeline.match.link import FirstLink, Linker, Reused
from pipeline.match.link_state import (
    ChildLinks,
    LinkState,
    fingerprint,
    matcher_digest,
    model_digest,
    person_match_digest,
)
from pipeline.match.partition import Partition
from pipeline.match.views import ChildView
from pipeline.progress import ProgressFn
from pipeline.reconcile import finish, link_partition, prepare, without_gc_pauses
from pipeline.run.link_store import keep_links, previous_links
from pipeline.run.model_state import frozen_state, keep_state
from pipeline.run.publish import decisions_of, stage_results
from pipeline.run.stages import FINISH, MATCH, PREPARE, match_step, no_progress
from pipeline.snapshot import load_snapshot
from pipeline.store import Store

log = get_logger(__name__)


def _parsed(store: Store, run_id: str, feed: str, record_ids: Iterable[str], as_of: date) -> dict[str, Any]:
    """Some records of a run's feed, parsed and screened at the run's report date (as
    ``reconcile.prepare`` screens them for the in-process run and the prepare step), by record id."""
    parse = PARSERS[feed]
    return {
        rid: screen(parse(jsontext.loads(text)), as_of)
        for rid, text in store.get_feed_payloads(run_id, feed, record_ids).items()
    }


def _all_parsed(store: Store, run_id: str, feed: str, as_of: date) -> dict[str, Any]:
    parse = PARSERS[feed]
    out: dict[str, Any] = {}
    for text in store.iter_feed_payloads(run_id, feed):
        record = screen(parse(jsontext.loads(text)), as_of)
        out[record.record_id] = record
    return out


@without_gc_pauses
def prepare_run(
    run_id: str,
    store: Store,
    check: Callable[[], None] | None = None,
    progress: ProgressFn = no_progress,
    model_max_age_days: int | None = None,
) -> dict[str, int]:
    """The global part of a run's reconciliation: read every record, group the children, recognise
    the people, estimate the model and plan the partitions; hand them on through the store (ids
    and weights only). Returns its counts: children, people, partitions.

    With ``model_max_age_days``, an incremental run or a run without fetching links under the last
    good run's model state unless it is that old (``pipeline.run.model_state``); either way the
    run keeps the model state it used."""
    with bound(run_id=run_id, stage=PREPARE):
        run = store.get_run(run_id)
        if run is None:
            raise RunFailedError(f"run {run_id} is not in the store")
        started = time.monotonic()
        # the match steps read records by id: the planner must know the freshly loaded table
        store.refresh_statistics()
        decisions = decisions_of(store)
        frozen = frozen_state(store, run, model_max_age_days) if model_max_age_days is not None else None
        # the links of the last good run under the same model state: the match steps reuse the
        # pairs of every child whose inputs did not change, finish keeps this run's; and what
        # that run derived of its records, where this run's records are the same
        previous = previous_links(store, frozen) if frozen is not None else None
        derived = previous.kept if previous is not None and previous.matcher == matcher_digest() else None
        prep = prepare(
            load_snapshot(run_id, store),
            decisions,
            run.partitions,
            run.as_of,
            frozen.model if frozen is not None else None,
            derived,
            digests=True,
        )
        used = keep_state(store, run_id, prep.model, frozen)
        inputs = None
        if derived is not None and prep.digests is not None:
            inputs = derived.inputs_for(prep.digests[2], len(prep.cviews))
        prints = fingerprint(
            prep.cviews, prep.people, prep.index, prep.dna_index, prep.rejected, prep.confirmed, inputs
        )
        keeps = prep.kept_inputs(prints.inputs)
        known = previous.reusable(prep.cviews, prints, prep.model) if previous is not None else {}
        if check is not None:
            check()
        dna = prep.dna_index
        store.put_artifact(
            run_id,
            state.MODEL_ARTIFACT,
            jsontext.dumps(
                {
                    "n_people": len(prep.people),
                    "model": state.model_to_json(prep.model),
                    "rejected": sorted(prep.rejected),
                    "confirmed": prep.confirmed,
                    "decisions": [state.decision_to_json(d) for d in decisions],
                }
            ),
        )
        for part in prep.partitions:
            cviews = [prep.cviews[i] for i in part.children]
            store.put_artifact(
                run_id,
                state.partition_artifact(part.number),
                jsontext.dumps(
                    {
                        "children": part.children,
                        "groups": [state.group_to_json(c.group) for c in cviews],
                        "people": [state.person_to_json(prep.people[pid]) for pid in part.people],
                        "oversized": part.oversized,
                        "dna": sorted({res.record_id for c in cviews for res in dna.for_child(c)}),
                        "known": [
                            [
                                c.group.key,
                                _packed(known[c.group.key].pairs),
                                _packed(known[c.group.key].runners),
                            ]
                            for c in cviews
                            if c.group.key in known
                        ],
                    }
                ),
            )
        store.put_artifact(
            run_id,
            state.WHOLE_ARTIFACT,
            jsontext.dumps(
                {
                    "groups": [state.group_to_json(g) for g in prep.groups],
                    "people": [state.person_to_json(p) for p in prep.people],
                    "partitions": len(prep.partitions),
                    "prints": [_b64(fp) for fp in prints.children] if prints.ordered else None,
                    # the decisions each fingerprint holds (link_state.ChildLinks)
                    "decided": [[i, list(rej), conf] for i, (rej, conf) in sorted(prints.decided.items())],
                    # what the next run over the same records need not derive again
                    "kept": link_state.dumps(LinkState(b"", kept=keeps)) if keeps is not None else None,
                    "estimated_by": used.estimated_by,
                }
            ),
        )
        log.info(
            "prepare.done",
            children=len(prep.groups),
            people=len(prep.people),
            partitions=[len(p.children) for p in prep.partitions],
            links_reused=previous is not None,
            people_reused=prep.people_reused,
            relinked=len(prep.groups) - len(known),
            seconds=round(time.monotonic() - started, 2),
        )
        counts = {
            "children": len(prep.groups),
            "people": len(prep.people),
            "partitions": len(prep.partitions),
        }
        progress(PREPARE, None, counts)
        return counts


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _pair(who: list[str], levels: list[int], terms: list[str | None]) -> tuple[str, bytes, Gamma]:
    return who[0], base64.b64decode(who[1]), (tuple(levels), tuple(terms))


def _packed(pairs: Sequence[tuple[int, Gamma | None]] | None) -> list[list[Any]] | None:
    """Reused pairs as JSON: [pid, levels, terms], or [pid] alone where it is compared again."""
    if pairs is None:
        return None
    return [[pid, gamma[0], gamma[1]] if gamma else [pid] for pid, gamma in pairs]


def _unpacked(pairs: list[list[Any]] | None) -> list[tuple[int, Gamma | None]] | None:
    if pairs is None:
        return None
    return [(int(p[0]), (tuple(p[1]), tuple(p[2])) if len(p) == 3 else None) for p in pairs]


def _linker(head: dict[str, Any], people: dict[int, Person]) -> Linker:
    return Linker(
        people,
        int(head["n_people"]),
        state.model_from_json(head["model"]),
        {(str(key), int(pid)) for key, pid in head["rejected"]},
        {str(key): int(pid) for key, pid in head["confirmed"].items()},
    )


@without_gc_pauses
def match_partition(
    run_id: str,
    number: int,
    store: Store,
    check: Callable[[], None] | None = None,
    progress: ProgressFn = no_progress,
) -> dict[str, int]:
    """The first linking pass over one partition: read its children and the people they can meet
    from the store, link them, write the links back. Reports partition i of n and the children
    linked so far; returns its counts (partition from 1, partitions, children, linked, people)."""
    with bound(run_id=run_id, step=match_step(number)):
        started = time.monotonic()
        head = jsontext.loads(store.get_artifact(run_id, state.MODEL_ARTIFACT))
        part = jsontext.loads(store.get_artifact(run_id, state.partition_artifact(number)))
        run = store.get_run(run_id)
        if run is None:
            raise RunFailedError(f"run {run_id} is not in the store")
        as_of = run.as_of
        orr = _parsed(store, run_id, "orr", (rid for ids in part["groups"] for rid in ids), as_of)
        ice = _parsed(store, run_id, "ice", (rid for p in part["people"] for rid in p[1]), as_of)
        removals = _parsed(store, run_id, "removals", (rid for p in part["people"] for rid in p[2]), as_of)
        dna = DnaIndex.of(list(_parsed(store, run_id, "dna", part["dna"], as_of).values()))
        people = {p.pid: p for p in (state.person_from_json(obj, ice, removals) for obj in part["people"])}
        cviews = [ChildView.of(state.group_from_json(ids, orr)) for ids in part["groups"]]
        loaded = time.monotonic()
        if check is not None:
            check()
        partition = Partition(number, part["children"], sorted(people), [tuple(k) for k in part["oversized"]])
        told = {"partition": number + 1, "partitions": run.partitions, "children": len(cviews)}

        def linked(done: int, _children: int) -> None:
            if check is not None:
                check()  # a cancelled or failed run stops between slices of the partition
            progress(MATCH, None, told | {"linked": done})

        # each reused candidate with its comparison vector, or alone: compared again
        known: dict[str, Reused] = {}
        for key, pairs, runners in part.get("known", ()):
            kept_runners = _unpacked(runners) if runners is not None else None
            known[str(key)] = Reused(_unpacked(pairs) or [], kept_runners)
        firsts = link_partition(_linker(head, people), cviews, partition, dna, progress=linked, known=known)
        idents: dict[int, list[str]] = {}

        def ident(pid: int) -> list[str]:
            # a person's identity and match digest (link_state)
            found = idents.get(pid)
            if found is None:
                person = people[pid]
                who = min(r.record_id for r in person.ice)
                found = idents[pid] = [who, _b64(person_match_digest(person))]
            return found

        def by_ident(pairs: Sequence[tuple[int, Gamma]]) -> list[list[Any]]:
            return [[ident(pid), lv, terms] for pid, (lv, terms) in pairs]

        store.put_artifact(
            run_id,
            state.first_links_artifact(number),
            jsontext.dumps(
                {
                    "children": part["children"],
                    "firsts": [state.first_to_json(f) for f in firsts],
                    # every child's pairs, people by identity: the link state finish keeps
                    "links": [by_ident(f.pairs) for f in firsts],
                    # and the runner-ups' pairs of the DNA-excluded children
                    "runners": [None if f.runner_pairs is None else by_ident(f.runner_pairs) for f in firsts],
                }
            ),
        )
        log.info(
            "match.done",
            children=len(firsts),
            people=len(people),
            load_seconds=round(loaded - started, 2),
            match_seconds=round(time.monotonic() - loaded, 2),
        )
        return told | {"linked": len(firsts), "people": len(people)}


@without_gc_pauses
def finish_run(
    run_id: str, store: Store, check: Callable[[], None] | None = None, progress: ProgressFn = no_progress
) -> dict[str, int]:
    """The family pass and classification over every partition's links; stage the results (not
    yet published). Returns its counts: children, revisited, people read."""
    with bound(run_id=run_id, stage=FINISH):
        run = store.get_run(run_id)
        if run is None:
            raise RunFailedError(f"run {run_id} is not in the store")
        started = time.monotonic()
        head = jsontext.loads(store.get_artifact(run_id, state.MODEL_ARTIFACT))
        whole = jsontext.loads(store.get_artifact(run_id, state.WHOLE_ARTIFACT))
        orr = _all_parsed(store, run_id, "orr", run.as_of)
        groups = [state.group_from_json(ids, orr) for ids in whole["groups"]]
        cviews = [ChildView.of(group) for group in groups]
        # people are read only where a link needs them: placeholders first, records later
        people: dict[int, Person] = {}

        def person(pid: int) -> Person:
            found = people.get(pid)
            if found is None:
                found = people[pid] = Person(pid)
            return found

        firsts: list[FirstLink | None] = [None] * len(groups)
        prints = whole.get("prints")
        decided = {int(i): (tuple(rej), conf) for i, rej, conf in whole.get("decided", ())}
        kept: dict[str, ChildLinks] = {}
        for number in range(int(whole["partitions"])):
            part = jsontext.loads(store.get_artifact(run_id, state.first_links_artifact(number)))
            for i, obj in zip(part["children"], part["firsts"], strict=True):
                firsts[i] = state.first_from_json(obj, cviews[i], person)
            if prints is not None:
                for i, pairs, runners in zip(part["children"], part["links"], part["runners"], strict=True):
                    rejected, confirmed = decided.get(i, ((), None))
                    kept[groups[i].key] = ChildLinks(
                        base64.b64decode(prints[i]),
                        tuple(_pair(who, lv, terms) for who, lv, terms in pairs),
                        None
                        if runners is None
                        else tuple(_pair(who, lv, terms) for who, lv, terms in runners),
                        rejected,
                        confirmed,
                    )
        if any(f is None for f in firsts):
            raise RunFailedError(
                f"run {run_id}: the partitions' links do not cover every child; start a new run"
            )
        done = [f for f in firsts if f is not None]
        linker = _linker(head, people)
        revisits = linker.revisits(done)
        for pid in linker.revisit_people(done, revisits):
            person(pid)
        entries = {int(obj[0]): obj for obj in whole["people"]}
        wanted = [entries[pid] for pid in sorted(people)]
        ice = _parsed(store, run_id, "ice", (rid for obj in wanted for rid in obj[1]), run.as_of)
        removals = _parsed(store, run_id, "removals", (rid for obj in wanted for rid in obj[2]), run.as_of)
        for obj in wanted:
            full = state.person_from_json(obj, ice, removals)
            people[full.pid].ice, people[full.pid].removals = full.ice, full.removals
        if check is not None:
            check()
        person_of = {rid: int(obj[0]) for obj in whole["people"] for rid in [*obj[1], *obj[2]]}
        decisions = [state.decision_from_json(d) for d in head["decisions"]]
        dna = list(_all_parsed(store, run_id, "dna", run.as_of).values())
        results = finish(groups, done, linker, revisits, decisions, person_of, dna, run.as_of)
        count = stage_results(run_id, store, results)
        derived = link_state.loads(whole["kept"]).kept if whole.get("kept") else None
        links = LinkState(model_digest(linker.model), children=kept, kept=derived)
        keep_links(store, run_id, links, str(whole["estimated_by"]))
        log.info(
            "finish.done",
            children=count,
            revisited=len(revisits),
            people_read=len(wanted),
            seconds=round(time.monotonic() - started, 2),
        )
        counts = {"children": count, "revisited": len(revisits), "people_read": len(wanted)}
        progress(FINISH, None, counts)
        return counts
