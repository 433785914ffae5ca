"""Surname particles (issue 17 item 3): "DE LA CRUZ" is one surname, not three tokens."""

from __future__ import annotations

from pipeline import normalise
from pipeline.sim import names
from pipeline.sim.profiles import rates_for
from pipeline.sim.world import generate_world


def test_a_particle_run_and_its_word_are_one_token() -> None:
    assert normalise.surname_tokens("de la Cruz López") == ("DELACRUZ", "LOPEZ")
    assert normalise.surname_tokens("MARTINEZ DEL CID") == ("MARTINEZ", "DELCID")
    assert normalise.name_tokens("Juan de los Santos") == ("JUAN", "DELOSSANTOS")


def test_names_without_particles_and_a_trailing_particle_are_unchanged() -> None:
    assert normalise.surname_tokens("GARCIA LOPEZ") == ("GARCIA", "LOPEZ")
    assert normalise.surname_tokens("LOPEZ DE") == ("LOPEZ", "DE")


def test_generated_particle_surnames_give_the_child_and_mother_one_first_surname() -> None:
    world = generate_world(300, seed=4, rates=rates_for("hard"))
    particles = {s for s, _ in names.PARTICLE_SURNAMES}
    firsts = [
        normalise.surname_tokens(rec["last_name"])[0]
        for rec in world.ice
        if isinstance(rec, dict) and any(str(rec.get("last_name", "")).startswith(p) for p in particles)
    ]
    assert len(firsts) >= 20  # the world shows the case
    assert not {"DE", "DEL", "LA", "LOS"} & set(firsts)
