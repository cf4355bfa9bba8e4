"""The report's colours read in black and white: each pair that a chart tells apart by colour alone differs in
grey value by more than half the scale, and every bar is outlined (a light bar stays visible on white paper)."""

from __future__ import annotations

import pytest

from sparkify import charts


def grey(colour: str) -> float:
    """Relative luminance (WCAG 2) of #rrggbb, 0 black .. 1 white: what a black-and-white print keeps."""
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(int(colour[i:i + 2], 16) / 255) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


@pytest.mark.parametrize("pair", [(charts.FREE, charts.PAID), (charts.UPGRADE, charts.DOWNGRADE),
                                  (charts.MATCHED, charts.UNMATCHED)], ids=["levels", "level changes", "catalog"])
def test_paired_colours_differ_in_grey(pair):
    a, b = (grey(c) for c in pair)
    assert abs(a - b) > 0.5, f"{pair}: grey values {a:.2f} and {b:.2f} are too close for a black-and-white print"


def test_bars_are_outlined_and_single_series_bars_are_dark():
    assert charts.CONFIG["bar"]["stroke"] and charts.CONFIG["bar"]["strokeWidth"] > 0
    assert grey(charts.OUTLINE) < 0.1 and grey(charts.BAR) < 0.3


@pytest.mark.parametrize("low, high, label", [(1, 1, "1"), (2, 5, "2-5"), (101, None, "101+")])
def test_bucket_labels(low, high, label):
    assert charts.bucket_label(low, high) == label
