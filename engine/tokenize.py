"""Split mixed-language text into keyword candidates.

Latin, Cyrillic, Greek, Arabic and other space-separated scripts are split on
word boundaries and lower-cased; Chinese runs are segmented into words with
jieba.  Stop words (English and Chinese), numbers, punctuation and one-letter
tokens are dropped.
"""

from __future__ import annotations

import logging
import re
import threading

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

#: Han ideographs (basic, extension A, compatibility).
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"([{_HAN}]+)|([^\W\d_](?:[\w'’-]*\w)?)", re.UNICODE)

CHINESE_STOP_WORDS = frozenset("""
的 了 和 是 在 我 有 也 就 不 都 而 及 与 着 或 一个 没有 我们 你们 他们 她们 它们 这个 那个 这些 那些 这样 那样
自己 什么 怎么 怎么样 为什么 因为 所以 但是 可是 而且 如果 虽然 还是 就是 只是 已经 一下 一些 一点 非常 比较 真的 还有
可以 应该 需要 觉得 感觉 知道 现在 时候 之后 以后 之前 以前 然后 一直 一样 这么 那么 不是 没 很 太 又 再 吧 呢 啊 吗 呀
哦 嗯 哈 啦 被 把 让 给 对 从 向 到 为 以 于 上 下 中 里 后 前 个 这 那 他 她 它 你 您 其 之 等 说 要 会 能 去 来 做 用 看
得 地 过 还 更 最 就是 一 二 三 多 少 大 小 好 人 年 月 日 时 分 号 次 两 几 每 各 该 此 并 但 却 且 而是 以及 以下 以上 如何
哪 哪里 哪些 这里 那里 怎样 有些 有点 一般 其实 当然 可能 只有 不过 不要 不会 不能 没什么 有没有 是不是 能不能 会不会
""".split())

_ENGLISH_EXTRA = """
im ive id ill dont didnt doesnt cant wont isnt arent wasnt werent hasnt havent hadnt shouldnt wouldnt couldnt
i'm i've i'd i'll don't didn't doesn't can't won't isn't aren't wasn't weren't hasn't haven't hadn't shouldn't
wouldn't couldn't it's that's there's what's let's you're you've they're we're he's she's
did does doing done got get gets getting ok okay yes yeah just really like want wants need needs tried try trying
thanks thank please hi hello hey lot lots way thing things make makes made use used using know
""".split()

#: Content words in scikit-learn's English list that clusters of tickets and reviews need.
_KEEP = frozenset("""
bill fire name system computer interest empty full detail mill side front top bottom part amount thick thin
cry sincere serious describe fill found con move call
""".split())

STOP_WORDS = (frozenset(ENGLISH_STOP_WORDS) - _KEEP) | CHINESE_STOP_WORDS | frozenset(_ENGLISH_EXTRA)

_jieba_lock = threading.Lock()
_jieba = None


def _segmenter():
    global _jieba
    with _jieba_lock:
        if _jieba is None:
            import jieba

            jieba.setLogLevel(logging.ERROR)
            _jieba = jieba
    return _jieba


def tokenize(text: str) -> list[str]:
    """Keyword candidates of ``text`` in order: lower-cased words and segmented Chinese words."""
    return [t for run in token_runs(text) for t in run]


def terms(text: str) -> list[str]:
    """Unigrams plus bigrams of adjacent tokens (never across a stop word or punctuation)."""
    out: list[str] = []
    for run in token_runs(text):
        out.extend(run)
        out.extend(f"{a} {b}" for a, b in zip(run, run[1:]))
    return out


def token_runs(text: str) -> list[list[str]]:
    """Tokens of ``text`` grouped into runs of adjacent keyword candidates.

    A stop word, a number, punctuation or a line break ends a run, so bigrams
    formed inside a run are real phrases of the text.
    """
    runs: list[list[str]] = [[]]
    end = 0
    for match in _TOKEN.finditer(text):
        if _breaks(text[end: match.start()]):
            runs.append([])
        end = match.end()
        han, word = match.groups()
        if han:
            if len(han) == 1:
                candidates = [han]
            else:
                candidates = _segmenter().lcut(han, HMM=True)
        else:
            candidates = [word.lower().replace("’", "'")]
        for token in candidates:
            if len(token) > 1 and token not in STOP_WORDS:
                runs[-1].append(token)
            elif runs[-1]:
                runs.append([])
    return [run for run in runs if run]


def _breaks(gap: str) -> bool:
    """Whether the text between two tokens ends a phrase (anything but spaces, hyphens, apostrophes)."""
    return any(not (ch.isspace() or ch in "-'’") for ch in gap)
