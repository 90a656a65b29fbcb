"""Column-aligned plain-text tables, as kubectl prints them, for `erp-sync plan` and the kubectl plugin.

A table is a header row and rows of cells, left-aligned and separated by two spaces, with no trailing
blanks and one line per row: control characters in a cell (a newline in a name read from a file) are
shown as spaces, so a cell can neither break the layout nor send escape sequences to the terminal.
"""

import re
from collections.abc import Iterable
from typing import Final

COLUMN_GAP: Final = "  "
_CONTROL_CHARACTERS: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class TextTable:
    """Rows under named columns, rendered as aligned plain text."""

    def __init__(self, columns: Iterable[str]) -> None:
        self.columns: Final = tuple(columns)
        self.rows: list[tuple[str, ...]] = []

    def add_row(self, *cells: str) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"a row of {len(cells)} cells under {len(self.columns)} columns")
        self.rows.append(tuple(_CONTROL_CHARACTERS.sub(" ", cell) for cell in cells))

    def render(self) -> str:
        lines = [self.columns, *self.rows]
        widths = [max(len(line[index]) for line in lines) for index in range(len(self.columns))]
        return "\n".join(
            COLUMN_GAP.join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
            for line in lines
        )
