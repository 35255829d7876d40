"""Fuzzy search of cluster names: the id itself, then substrings, then letters in order."""

from __future__ import annotations


def fuzzy_find(query: str, names: dict[int, str], limit: int = 20) -> list[int]:
    """Keys of ``names`` matching ``query``: the id itself, then substring, then in-order letters; best first."""
    q = query.strip().lower()
    if not q:
        return list(names)[:limit]
    scored = []
    for cid, name in names.items():
        text = (name or "").lower()
        if q == str(cid):
            score = 0.0
        elif q in text:
            score = 1.0 + text.index(q) / 1000
        else:
            pos, gaps, ok = -1, 0, True
            for ch in q:
                nxt = text.find(ch, pos + 1)
                if nxt < 0:
                    ok = False
                    break
                gaps += nxt - pos - 1
                pos = nxt
            if not ok:
                continue
            score = 2.0 + gaps / (len(text) + 1)
        scored.append((score, cid))
    scored.sort()
    return [cid for _, cid in scored[:limit]]
