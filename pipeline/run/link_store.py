"""The link state a run keeps for the next one (issue 19 item 3, issue 16 item 8): every run
keeps its first-pass links (``LINK_STATE_ARTIFACT``, kept after publish and pruned with the
run, like the model state); an incremental or --no-fetch run that links under the last good
run's frozen model reuses that run's links for the children whose inputs did not change
(``pipeline.match.link_state``), and only when they were made under the same model state.
"""

from __future__ import annotations

from pipeline import jsontext
from pipeline.errors import MatchStateError, StoreError
from pipeline.logging import get_logger
from pipeline.match import link_state
from pipeline.match.link_state import LinkState
from pipeline.match.state import LINK_STATE_ARTIFACT, ModelState
from pipeline.store import Store

log = get_logger(__name__)


def previous_links(store: Store, frozen: ModelState) -> LinkState | None:
    """The last good run's links, if they were made under the model state ``frozen`` (which that
    run's model state is, when ``frozen`` came from ``model_state.frozen_state``); else None."""
    source = store.latest_succeeded_run()
    if source is None:
        return None
    try:
        kept = jsontext.loads(store.get_artifact(source.id, LINK_STATE_ARTIFACT))
        if kept.get("estimated_by") != frozen.estimated_by:
            log.info("links.relink_all", reason="links of another model state", source_run=source.id)
            return None
        return link_state.loads(str(kept["links"]))
    except StoreError:
        log.info("links.relink_all", reason="no links kept", source_run=source.id)
    except (MatchStateError, ValueError, KeyError, AttributeError):
        log.info("links.relink_all", reason="kept links unreadable", source_run=source.id)
    return None


def keep_links(store: Store, run_id: str, links: LinkState, estimated_by: str) -> None:
    """Save the links ``run_id`` made under the model state that run ``estimated_by`` estimated."""
    body = {"estimated_by": estimated_by, "links": link_state.dumps(links)}
    store.put_artifact(run_id, LINK_STATE_ARTIFACT, jsontext.dumps(body))
