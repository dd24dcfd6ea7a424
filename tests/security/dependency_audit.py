"""`make audit`: pip-audit over every dependency locked in uv.lock; fails on a known vulnerability.

The lock is exported to a requirements file (exact pins, no workspace packages) and audited as
is, without resolving or installing anything. pip-audit asks a vulnerability service about each
pin: OSV, else PyPI's per-release JSON API. Neither may be reachable (an offline machine, or a
PyPI mirror that serves packages but not that API): then the audit is skipped with the reason
printed, never passed silently. Whenever a service answers, every finding fails the run, and
so does any pin the service could not look up.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

PIP_AUDIT = "pip-audit==2.10.1"
ROOT = Path(__file__).resolve().parents[2]
UV = ROOT / ".tools" / "bin" / "uv"
WORK = ROOT / "var" / "audit"


def export_lock() -> tuple[Path, list[tuple[str, str]]]:
    """Export uv.lock's pins (every package, every group) to a requirements file."""
    WORK.mkdir(parents=True, exist_ok=True)
    requirements = WORK / "requirements.txt"
    subprocess.run(
        [str(UV), "export", "--frozen", "--all-packages", "--all-groups", "--no-emit-workspace",
         "--no-hashes", "--format", "requirements.txt", "--quiet", "-o", str(requirements)],
        check=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    pins = []
    for line in requirements.read_text().splitlines():
        spec = line.split(";", 1)[0].strip()
        if "==" in spec and not spec.startswith("#"):
            name, _, version = spec.partition("==")
            pins.append((name.strip(), version.strip()))
    return requirements, pins


def probe(url: str, *, data: bytes | None = None) -> str | None:
    """Return None when the URL answers 200, else why not."""
    # Fixed https URLs of the two services (S310 guards against file:// and the like).
    headers = {"Content-Type": "application/json"}
    request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return None if response.status == 200 else f"HTTP {response.status}"
    except urllib.error.HTTPError as error:
        error.close()
        return f"HTTP {error.code}"
    except (urllib.error.URLError, OSError) as error:
        return f"{type(error).__name__}: {getattr(error, 'reason', error)}"


def choose_service(pins: list[tuple[str, str]]) -> tuple[str | None, list[str]]:
    """Return the first vulnerability service that answers for a locked pin, and why not others."""
    name, version = pins[0]
    reasons: list[str] = []
    query = json.dumps({"package": {"name": name, "ecosystem": "PyPI"}, "version": version})
    why = probe("https://api.osv.dev/v1/query", data=query.encode())
    if why is None:
        return "osv", reasons
    reasons.append(f"OSV (api.osv.dev): {why}")
    why = probe(f"https://pypi.org/pypi/{name}/{version}/json")
    if why is None:
        return "pypi", reasons
    reasons.append(f"PyPI's JSON API for {name}=={version}: {why}")
    return None, reasons


def main() -> int:
    """Audit the lock; exit 1 on a finding or an unauditable pin, 0 when clean or skipped."""
    requirements, pins = export_lock()
    service, unreachable = choose_service(pins)
    if service is None:
        print("pip-audit SKIPPED: no vulnerability service answers from this machine:")
        for reason in unreachable:
            print(f"  - {reason}")
        print("  (CI on a machine that reaches either runs the audit and fails on findings)")
        return 0
    report = WORK / "pip-audit.json"
    result = subprocess.run(
        [str(UV), "tool", "run", "--quiet", "--from", PIP_AUDIT, "pip-audit",
         "--requirement", str(requirements), "--no-deps", "--disable-pip",
         "--vulnerability-service", service, "--progress-spinner", "off",
         "--format", "json", "--output", str(report)],
        cwd=ROOT, timeout=600, check=False,
    )  # fmt: skip
    if not report.is_file():
        print(f"pip-audit failed (exit {result.returncode}) without a report", file=sys.stderr)
        return 1
    dependencies = json.loads(report.read_text())["dependencies"]
    vulnerable = [d for d in dependencies if d.get("vulns")]
    skipped = [d for d in dependencies if d.get("skip_reason")]
    for dependency in vulnerable:
        for vuln in dependency["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions", [])) or "none yet"
            print(f"{dependency['name']}=={dependency['version']}: {vuln['id']} (fixed in {fixes})")
    for dependency in skipped:
        print(f"{dependency['name']}: not audited: {dependency['skip_reason']}")
    if vulnerable or skipped:
        print(f"pip-audit ({service}): {len(vulnerable)} vulnerable, {len(skipped)} not audited")
        return 1
    print(f"pip-audit ({service}): no known vulnerability in {len(dependencies)} locked packages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
