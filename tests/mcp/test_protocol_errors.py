"""The spawned server answers protocol misuse with JSON-RPC errors, never silence and
never a traceback: lines that are not JSON (-32700), messages that are not JSON-RPC
(-32600), an unknown prompt or bad prompt arguments (-32602)."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.mcpkit import VENV_BIN, make_role_repo, server_env
from support.rawclient import RawStdioClient

pytestmark = pytest.mark.slow

MALFORMED: list[tuple[bytes, int, object]] = [
    (b"{not json\n", -32700, None),
    (b'{"jsonrpc": "2.0", "method": "tools/list", "id": 1\n', -32700, None),  # cut short
    (b"\xff\xfe garbage\n", -32700, None),
    (b'{"jsonrpc": "2.0", "id": 7}\n', -32600, 7),  # no method
    (b'{"jsonrpc": "1.0", "id": 8, "method": "tools/list"}\n', -32600, 8),
    (b'{"id": "x9", "method": "tools/list"}\n', -32600, "x9"),  # no jsonrpc member
    (b'[{"jsonrpc": "2.0", "id": 10, "method": "tools/list"}]\n', -32600, None),  # a batch
    (b'"tools/list"\n', -32600, None),
    (b"42\n", -32600, None),
]


def test_malformed_lines_get_json_rpc_errors_and_the_server_keeps_serving(
    tmp_path: Path
) -> None:
    env = server_env(tmp_path, make_role_repo(tmp_path))
    stderr = tmp_path / "stderr.log"
    with RawStdioClient([str(VENV_BIN / "dag-harness-mcp")], env, stderr) as client:
        client.initialize()
        answers = []
        for line, _code, _id in MALFORMED:
            client.send_raw(line)
            answers.append(client.next_answer())
        unknown = client.request("prompts/get", {"name": "no-such-prompt"})
        bad_role = client.request("prompts/get", {"name": "box-up-role",
                                                  "arguments": {"role": "../etc"}})
        good = client.request("prompts/get", {"name": "box-up-role",
                                              "arguments": {"role": "web"}})
        tools = client.request("tools/list")
        code = client.close()

    for (line, want_code, want_id), answer in zip(MALFORMED, answers, strict=True):
        assert answer["error"]["code"] == want_code, (line, answer)
        assert answer["id"] == want_id, (line, answer)
    assert unknown["error"]["code"] == -32602
    assert "unknown prompt 'no-such-prompt'" in unknown["error"]["message"]
    assert "box-up-role" in unknown["error"]["message"]
    assert bad_role["error"]["code"] == -32602 and "../etc" in bad_role["error"]["message"]
    assert "web" in good["result"]["messages"][0]["content"]["text"]
    assert tools["result"]["tools"]
    assert code == 0
    assert "Traceback" not in stderr.read_text() and stderr.read_text().strip() == ""
