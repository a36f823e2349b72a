"""Several processes on one host share the disk tier safely."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from dbp.llm.bedrock.discovery import DiscoveryCache

WRITER = textwrap.dedent(
    """
    import sys
    from dbp.llm.bedrock.discovery import DiscoveryCache
    cache = DiscoveryCache(base_dir=sys.argv[1], durable=False)
    tag = sys.argv[2]
    for i in range(int(sys.argv[3])):
        cache.set("shared", {"writer": tag, "i": i, "blob": tag * 5000})
    """
)

READER = textwrap.dedent(
    """
    import sys
    from dbp.llm.bedrock.discovery import DiscoveryCache
    seen = set()
    for i in range(int(sys.argv[2])):
        cache = DiscoveryCache(base_dir=sys.argv[1], max_memory_entries=0)
        value = cache.get("shared")
        if value is None:
            continue
        assert value["blob"] == value["writer"] * 5000, "torn value"
        seen.add(value["writer"])
    print(sorted(seen))
    """
)


def test_value_written_by_one_process_is_read_by_another(cache_dir):
    code = "import sys; from dbp.llm.bedrock.discovery import DiscoveryCache as C; C(base_dir=sys.argv[1]).set('k', {'from': 'child'})"
    subprocess.run([sys.executable, "-c", code, str(cache_dir)], check=True)
    assert DiscoveryCache(base_dir=cache_dir).get("k") == {"from": "child"}


def test_concurrent_writers_never_expose_a_torn_value(cache_dir, tmp_path):
    writer, reader = tmp_path / "writer.py", tmp_path / "reader.py"
    writer.write_text(WRITER)
    reader.write_text(READER)
    writers = [
        subprocess.Popen([sys.executable, str(writer), str(cache_dir), tag, "300"]) for tag in "ab"
    ]
    out = subprocess.run(
        [sys.executable, str(reader), str(cache_dir), "600"], capture_output=True, text=True
    )
    for w in writers:
        assert w.wait(60) == 0
    assert out.returncode == 0, out.stderr
    leftovers = [
        n for n in os.listdir(DiscoveryCache(base_dir=cache_dir).cache_dir) if n.endswith(".tmp")
    ]
    assert leftovers == []
