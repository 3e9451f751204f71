"""pip-audit, able to read the package index these machines reach.

pip-audit's PyPI service asks for each installed package's version document
(`/pypi/<name>/<version>/json`). The index reachable from the developers' machines and CI
serves only the project document (`/pypi/<name>/json`), whose `vulnerabilities` are those of
the project's newest release; plain pip-audit then skips every package and still reports
"No known vulnerabilities found". Here, when a version document is missing (404), the
project document stands in for it if, and only if, the installed version is that newest
release. Any other package stays unaudited, which `--strict` turns into a failure. Against
an index that serves version documents this is plain pip-audit.

Usage: python .ci/pip-audit.py [pip-audit arguments]
"""

from __future__ import annotations

import re
import sys
from typing import Any

from packaging.version import InvalidVersion, Version
from pip_audit import _cli
from pip_audit._service import PyPIService

_VERSION_DOCUMENT = re.compile(r"(?P<base>https://pypi\.org/pypi/[^/]+)/(?P<version>[^/]+)/json")


class _NewestReleaseFallback:
    """Wraps pip-audit's HTTP session; only `get` is used by its PyPI service."""

    def __init__(self, session: Any) -> None:
        self._session = session

    def get(self, url: str, **kwargs: Any) -> Any:
        response = self._session.get(url=url, **kwargs)
        match = _VERSION_DOCUMENT.fullmatch(url)
        if response.status_code != 404 or match is None:
            return response
        project = self._session.get(url=f"{match['base']}/json", **kwargs)
        if project.status_code != 200:
            return response
        try:
            newest = Version(project.json()["info"]["version"])
            installed = Version(match["version"])
        except (InvalidVersion, KeyError, TypeError, ValueError):
            return response
        if newest != installed:
            print(
                f"pip-audit: {match['base'].rsplit('/', 1)[1]} {installed} is not the newest release"
                f" ({newest}); the index only lists advisories for the newest",
                file=sys.stderr,
            )
            return response
        return project


class _PyPIServiceNewestRelease(PyPIService):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.session = _NewestReleaseFallback(self.session)


if __name__ == "__main__":
    _cli.PyPIService = _PyPIServiceNewestRelease  # the service the CLI builds for `-s pypi` (default)
    sys.argv[0] = "pip-audit"
    _cli.audit()
