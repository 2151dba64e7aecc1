"""Renders a Helm chart with Helm's own Go library (helm-python-sdk, which
binds Helm v4's SDK; .ci/run installs it), as `helm lint --strict` and
`helm template` would: tests/e2e/helm.rs runs it.

    python3 render.py CHART RELEASE NAMESPACE < values.json

Prints the rendered manifests (every template but NOTES.txt, in path order)
as one YAML stream. Exit 1: lint findings or a render error (on stderr);
exit 3: helm-python-sdk is not installed.
"""

import json
import sys

try:
    import helm_python as helm
except ImportError as error:
    print(f"helm-python-sdk is not installed ({error}): see .ci/run", file=sys.stderr)
    sys.exit(3)


def main() -> int:
    chart, release, namespace = sys.argv[1:4]
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
    for path in sorted(rendered):
        if not path.endswith("NOTES.txt"):
            print(f"---\n# Source: {path}\n{rendered[path]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
