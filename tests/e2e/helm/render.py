"""Renders a Helm chart with Helm's own Go library (helm-python-sdk, which
binds Helm v4's SDK; .ci/run installs it), as `helm lint --strict` and
`helm template` would: tests/e2e/helm.rs runs it.

    python3 render.py CHART RELEASE NAMESPACE [--release-size] < values.json

Prints the rendered manifests (every template but NOTES.txt, in path order)
as one YAML stream; with --release-size, the size in bytes of the release
as Helm would store it in its Secret (limited to 1 MiB by Kubernetes)
instead. Exit 1: lint findings or a render error (on stderr); exit 3:
helm-python-sdk is not installed.
"""

import base64
import gzip
import json
import os
import sys

try:
    import helm_python as helm
except ImportError as error:
    print(f"helm-python-sdk is not installed ({error}): see .ci/run", file=sys.stderr)
    sys.exit(3)


def main() -> int:
    chart, release, namespace = sys.argv[1:4]
    release_size = sys.argv[4:] == ["--release-size"]
    values = json.load(sys.stdin)
    helm.disable_logging()
    report = helm.lint(chart, values, strict=True, namespace=namespace)
    findings = [m for m in report["messages"] if m["severity"] >= 2]
    if findings or report["errors"]:
        print(json.dumps(findings + report["errors"], indent=2), file=sys.stderr)
        return 1
    try:
        with helm.Chart.load(chart) as loaded:
            rendered = loaded.render(values, name=release, namespace=namespace, is_install=True)
    except helm.HelmError as error:
        print(f"render: {error}", file=sys.stderr)
        return 1
    manifest = "".join(
        f"---\n# Source: {path}\n{rendered[path]}"
        for path in sorted(rendered)
        if not path.endswith("NOTES.txt")
    )
    if release_size:
        print(stored_size(chart, manifest))
    else:
        print(manifest)
    return 0


def stored_size(chart: str, manifest: str) -> int:
    """The release Secret's payload as Helm writes it: the release as JSON
    (the chart's own files, templates and schema as base64, without its
    dependencies, whose fields Helm does not serialise, and the rendered
    manifest), gzipped, then base64."""
    files = []
    for directory, dirs, names in os.walk(chart, followlinks=True):
        if os.path.relpath(directory, chart) == ".":
            dirs[:] = [d for d in dirs if d != "charts"]
        for name in names:
            with open(os.path.join(directory, name), "rb") as file:
                data = base64.b64encode(file.read()).decode()
            files.append({"name": os.path.relpath(os.path.join(directory, name), chart), "data": data})
    release = json.dumps({"chart": {"files": files}, "manifest": manifest})
    return len(base64.b64encode(gzip.compress(release.encode(), compresslevel=6)))


if __name__ == "__main__":
    sys.exit(main())
