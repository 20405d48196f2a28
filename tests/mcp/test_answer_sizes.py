"""The context budget on a real 200-role repository (DebOps): ``tools/list`` within 16 KB and
every default answer an agent reads (tools and resources) within 8 KB, with a next page
where more exists. ``bench/bench_context.py`` prints the same figures."""

from __future__ import annotations

from pathlib import Path

from mcp.client import Client

from dag_harness_mcp.mcp.server import create_server
from support.answer_sizes import (
    ANSWER_BUDGET,
    TOOLS_LIST_BUDGET,
    corpus_settings,
    debops_repository,
    default_answers,
    lived_in,
    tools_list_bytes,
)


async def test_on_debops_tools_list_fits_16_kb_and_every_default_answer_8_kb(
    debops_collection: Path, tmp_path: Path,
) -> None:
    repo = debops_repository(debops_collection, tmp_path)
    settings = corpus_settings(repo, tmp_path)
    async with Client(create_server(settings)) as client:
        await lived_in(client, settings)
        listed = await tools_list_bytes(client)
        answers = await default_answers(client)

    by_name = {a.what: a for a in answers}
    too_big = [a for a in answers if max(a.text_bytes, a.structured_bytes) > ANSWER_BUDGET]
    assert listed <= TOOLS_LIST_BUDGET
    assert too_big == []
    # The text is the structured result once, compactly, not a second indented copy.
    assert all(a.text_bytes == a.structured_bytes for a in answers if a.structured_bytes)
    # Where more exists, the answer says how to get it.
    assert by_name["list_roles()"].has_next_page
    assert [a.has_next_page for a in answers if a.what.startswith("role_dependencies(")
            and "reverse=True" in a.what] == [True, True]
    assert by_name["agent_sessions()"].has_next_page
