"""Types of the compiled pre-score (_prescore.pyx)."""

from collections.abc import Collection, Iterable, Mapping, Sequence

class PreScorer:
    def __init__(
        self, of_country: Mapping[str, Iterable[int]], no_country: Iterable[int], n_people: int = 0
    ) -> None: ...
    def top(
        self,
        buckets: list[tuple[list[int], float, int | None, tuple[object, ...]]],
        countries: Collection[str],
        penalty: float,
        boosts: Sequence[tuple[int, float]],
        exclude: Collection[int],
        n: int,
        margin: float,
    ) -> list[int]: ...
