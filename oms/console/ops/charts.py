"""Bar charts drawn on the server as inline SVG: the geometry here, the markup in the template (no JS library)."""

from dataclasses import dataclass

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 8, 8, 22, 26  # room for the counts above the bars and the hour labels below


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    x: float
    y: float
    width: float
    height: float

    @property
    def middle(self) -> float:
        return round(self.x + self.width / 2, 1)

    @property
    def count_y(self) -> float:
        return round(self.y - 5, 1)


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    width: int = WIDTH
    height: int = HEIGHT
    baseline: float = HEIGHT - BOTTOM
    label_y: float = HEIGHT - 8

    @property
    def total(self) -> int:
        return sum(bar.count for bar in self.bars)

    @property
    def peak(self) -> Bar | None:
        return max(self.bars, key=lambda bar: bar.count, default=None) if self.total else None


def bar_chart(values: list[tuple[str, int]]) -> BarChart:
    """One bar per (label, count), scaled so the largest count fills the height."""
    slot = (WIDTH - LEFT - RIGHT) / max(len(values), 1)
    tallest = max((count for _, count in values), default=0) or 1
    room = HEIGHT - TOP - BOTTOM
    bars = []
    for index, (label, count) in enumerate(values):
        height = round(room * count / tallest, 1)
        bars.append(Bar(label=label, count=count, x=round(LEFT + index * slot + slot * 0.15, 1),
                        y=round(HEIGHT - BOTTOM - height, 1), width=round(slot * 0.7, 1), height=height))
    return BarChart(bars=bars)
