"""Content negotiation: which of the media types a route offers the caller's `Accept` prefers."""

from __future__ import annotations


def _ranges(accept: str) -> list[tuple[str, float, int]]:
    """(media range, quality, position) for each entry of an Accept header; bad q reads as 0."""
    out: list[tuple[str, float, int]] = []
    for position, part in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        if not media:
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = max(0.0, min(1.0, float(value)))
                except ValueError:
                    quality = 0.0
        out.append((media.lower(), quality, position))
    return out


def _matches(media_range: str, offered: str) -> int:
    """How specifically a media range matches an offered type: 2 exact, 1 `type/*`, 0 `*/*`, -1 no."""
    if media_range == offered:
        return 2
    kind, _, sub = media_range.partition("/")
    if sub == "*" and offered.startswith(f"{kind}/"):
        return 1
    return 0 if media_range == "*/*" else -1


def preferred(accept: str | None, offered: list[str]) -> str | None:
    """The offered type the caller prefers most (ties go to the earlier offer, so list the
    default first); the first offer when there is no Accept header; None when nothing offered
    is acceptable."""
    if not accept or not accept.strip():
        return offered[0]
    ranges = _ranges(accept)
    best: tuple[float, int, int] | None = None
    choice: str | None = None
    for index, media in enumerate(offered):
        # The most specific range that matches this type decides its quality (RFC 9110 §12.5.1).
        scored = [(_matches(r, media), q) for r, q, _ in ranges]
        scored = [s for s in scored if s[0] >= 0]
        if not scored:
            continue
        quality = max(scored)[1]
        if quality <= 0:
            continue
        key = (quality, -index, 0)
        if best is None or key > best:
            best, choice = key, media
    return choice
