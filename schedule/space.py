"""Config spaces: the knobs a template exposes and the points a tuner may pick.

A template author defines knobs on a `ConfigSpace`, AutoTVM's way:

    space = ConfigSpace()
    space.define_knob("tile_rows", [1, 2, 4, 6, 8, 12])
    space.define_knob("tile_vectors", [1, 2, 3, 4])
    space.define_constraint(lambda c: c["tile_rows"] * c["tile_vectors"] <= 24)
    len(space)          # the points that satisfy every constraint
    space[0]            # a Config: {"tile_rows": 1, "tile_vectors": 1}
    print(space)        # each knob with its values

A `Config` is plain data (knob name -> value), so it is what records store and what a tuner
proposes; `space.index_of(config)` gives its position back. The default config (the template's
heuristic) is one point of its space.
"""

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import product

KnobValue = int | str | bool


@dataclass(frozen=True)
class Config(Mapping[str, KnobValue]):
    """One point of a config space: a value for each knob."""

    entries: tuple[tuple[str, KnobValue], ...]
    """(knob, value) pairs, sorted by knob name."""

    @staticmethod
    def of(values: Mapping[str, KnobValue]) -> "Config":
        return Config(tuple(sorted(values.items())))

    def __getitem__(self, name: str) -> KnobValue:
        for knob, value in self.entries:
            if knob == name:
                return value
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return (knob for knob, _ in self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __str__(self) -> str:
        return ", ".join(f"{knob}={value}" for knob, value in self.entries)


@dataclass(frozen=True)
class Knob:
    name: str
    values: tuple[KnobValue, ...]


@dataclass
class ConfigSpace:
    """Knobs and constraints; the space is the points of their product that satisfy every
    constraint, in the product's order (the first knob varies slowest)."""

    knobs: list[Knob] = field(default_factory=list[Knob])
    constraints: list[Callable[[Config], bool]] = field(
        default_factory=list[Callable[[Config], bool]]
    )
    _points: list[Config] | None = field(default=None, repr=False)

    def define_knob(self, name: str, values: Sequence[KnobValue]) -> None:
        """A knob taking one of `values` (at least one; duplicates dropped)."""
        if any(k.name == name for k in self.knobs):
            raise ValueError(f"knob '{name}' is defined twice")
        unique = tuple(dict.fromkeys(values))
        if not unique:
            raise ValueError(f"knob '{name}' has no values")
        self.knobs.append(Knob(name, unique))
        self._points = None

    def define_split(self, name: str, extent: int, max_factor: int | None = None) -> None:
        """A knob over the factors that divide `extent` (AutoTVM's policy "factors"): the
        inner size of a split with no remainder."""
        top = min(extent, max_factor or extent)
        self.define_knob(name, [f for f in range(1, top + 1) if extent % f == 0])

    def define_constraint(self, holds: Callable[[Config], bool]) -> None:
        """Leaves out the points for which `holds` is false."""
        self.constraints.append(holds)
        self._points = None

    @property
    def points(self) -> list[Config]:
        if self._points is None:
            names = [k.name for k in self.knobs]
            candidates = (
                Config.of(dict(zip(names, values, strict=True)))
                for values in product(*(k.values for k in self.knobs))
            )
            self._points = [c for c in candidates if all(h(c) for h in self.constraints)]
        return self._points

    def __len__(self) -> int:
        return len(self.points)

    def __getitem__(self, index: int) -> Config:
        return self.points[index]

    def index_of(self, config: Config) -> int | None:
        """The position of `config` in the space; None when it is not a point of it."""
        try:
            return self.points.index(config)
        except ValueError:
            return None

    def __str__(self) -> str:
        rows = [f"ConfigSpace ({len(self)} points of {self._product_size()})"]
        rows += [f"  {k.name}: {list(k.values)}" for k in self.knobs]
        return "\n".join(rows)

    def _product_size(self) -> int:
        size = 1
        for knob in self.knobs:
            size *= len(knob.values)
        return size
