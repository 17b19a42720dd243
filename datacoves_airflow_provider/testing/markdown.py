"""Small helpers for the markdown the DAG test reports are written in (GitHub-flavoured)."""

from __future__ import annotations

__all__ = ["code_block", "table_cell"]


def table_cell(text: str) -> str:
    """``text`` made safe for a table cell or inline code: one line, no ``|`` or backtick breaking out.

    :param text: any text.
    """
    return " ".join(str(text).split()).replace("|", "\\|").replace("`", "'")


def code_block(text: str, language: str = "text") -> list[str]:
    """The lines of a fenced code block holding ``text`` (the fence outgrows any backticks inside).

    :param text: the block's content.
    :param language: the info string.
    """
    fence = "```"
    while fence in text:
        fence += "`"
    return [f"{fence}{language}", text.rstrip(), fence]
