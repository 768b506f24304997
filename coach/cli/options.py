"""Options that several commands take, spelled and explained once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

CorpusOption = Annotated[Path | None, typer.Option("--corpus", help="Corpus folder.")]
IndexDirOption = Annotated[
    Path | None, typer.Option("--index-dir", help="Folder of the embedded index.")
]
