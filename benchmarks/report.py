"""Render a run's results (the dict written to latest.json) as markdown."""

from __future__ import annotations

from typing import Any

__all__ = ["machine_line", "render_markdown", "render_table"]

_GROUP_TITLES = {
    "memory_hit": "Decorated hit from memory (100-model payload)",
    "disk_hit": "Hit from disk, fresh instance (memory cold)",
    "set": "Set (write-through)",
    "concurrency": "Concurrency",
    "scale": "Scale (entries on disk)",
    "fleet": "Fleet tier (Redis on loopback)",
    "startup": "Start-up",
    "method_hit": "Method hits (100-model payload)",
    "async_hit": "Async hits (async def, 100-model payload)",
}


def machine_line(machine: dict[str, Any]) -> str:
    packages = machine["packages"]
    libs = ", ".join(f"{name} {version}" for name, version in packages.items() if version)
    cores = machine["cores"]
    usable = machine.get("usable_cores", cores)
    core_text = f"{cores} cores" if usable == cores else f"{cores} cores ({usable} usable)"
    return (
        f"{machine['cpu']}, {core_text}, {machine['platform']}, {machine['python']}; "
        f"temp folder on {machine['tmp_filesystem']}; {libs}"
    )


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_table(benchmarks: list[dict[str, Any]]) -> str:
    lines = [
        "| benchmark | ours | peer | peer time | ratio | target | result |",
        "|---|---:|---|---:|---:|---|---|",
    ]
    group = None
    for row in benchmarks:
        if row["group"] != group:
            group = row["group"]
            lines.append(f"| **{_GROUP_TITLES.get(group, group)}** | | | | | | |")
        result = row["status"] if row["status"] != "info" else ""
        if result == "MISS":
            result = "**MISS**"
        lines.append(
            "| "
            + " | ".join(
                _cell(str(x))
                for x in (
                    row["label"],
                    row["ours_text"],
                    row["peer"],
                    row["peer_text"],
                    f"{row['ratio']:.2f}",
                    row["target"] if row["status"] != "info" else "",
                    result,
                )
            )
            + " |"
        )
    return "\n".join(lines)


def render_markdown(result: dict[str, Any]) -> str:
    machine, config = result["machine"], result["config"]
    rows = result["benchmarks"]
    targets = [row for row in rows if row["status"] in ("PASS", "MISS")]
    passed = sum(row["status"] == "PASS" for row in targets)
    misses = [row["label"] for row in targets if row["status"] == "MISS"]
    mode = "quick" if config["quick"] else "full"
    out = [
        "# Benchmark results",
        "",
        f"- Date: {machine['date']} (git {machine['git_commit']}"
        + (", src/ modified" if machine.get("src_modified") else "")
        + ")",
        f"- Machine: {machine_line(machine)}",
        f"- Run: {mode}, {config['repeats']} interleaved rounds per contender, median; "
        f"batches of up to {config['iterations']} operations (~{config['batch_ms']:g} ms); "
        f"{config['startup_runs']} interpreter launches per start-up command; "
        f"load average at start {machine.get('load_average_at_start')}; "
        f"took {result['seconds']} s",
        f"- Targets: {passed} of {len(targets)} PASS"
        + (f"; missed: {'; '.join(misses)}" if misses else ""),
        "",
        "ratio = ours / peer, measured in the same run (below 1: we are faster). Call timings"
        " exclude the empty loop's own cost. Rows without a target are for comparison and for"
        " seeing where the time goes.",
        "",
        render_table(rows),
        "",
    ]
    startup = result.get("details", {}).get("startup")
    if startup:
        slow = startup.get("slowest_imports_beyond_wrapt_us") or {}
        listing = ", ".join(f"{name} {t['self_us'] / 1000:.1f} ms" for name, t in slow.items())
        out += [
            "Start-up details: `import dbp.llm.bedrock.discovery` loads its names on first"
            " access; a program that imports `DiscoveryCache` and `discovery_cached` loads"
            f" {startup['modules_beyond_wrapt']} modules beyond what `import wrapt` loads "
            f"({startup.get('first_use_over_wrapt_ms', 0):+.1f} ms); "
            f"heavy modules loaded: {', '.join(startup['heavy_modules_imported']) or 'none'} "
            f"(beyond wrapt's: {', '.join(startup['heavy_modules_beyond_wrapt']) or 'none'}); "
            f"largest self times (-X importtime): {listing or 'n/a'}.",
            "",
        ]
    return "\n".join(out)
