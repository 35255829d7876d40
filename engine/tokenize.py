"""Split mixed-language text into keyword candidates.

Latin, Cyrillic, Greek, Arabic, Hangul and other space-separated scripts are
split on word boundaries and lower-cased; Chinese runs are segmented into words
with jieba.  Scripts written without spaces that jieba does not know fall back
to character n-grams: in a text with kana (Japanese), katakana runs are kept
whole, kanji runs of up to four characters are kept whole and longer ones become
character bigrams, hiragana (mostly particles and endings) is dropped; Thai,
Lao, Khmer and Myanmar runs become trigrams of letters with their marks.  Stop
words (English, Chinese, Japanese and the function words of a dozen European
languages), numbers, punctuation and one-letter tokens are dropped.  Terminal
escape sequences (colours, titles, cursor moves) are removed before any of it.
"""

from __future__ import annotations

import functools
import logging
import re
import threading


#: Han ideographs (basic, extension A, compatibility).
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HIRAGANA = "\u3040-\u309f"
_KATAKANA = "\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f"
#: Scripts written without spaces between words (Thai, Lao, Khmer, Myanmar).
_UNSPACED = "\u0e00-\u0e7f\u0e80-\u0eff\u1780-\u17ff\u1000-\u109f"
_NOT_WORD = _HAN + _HIRAGANA + _KATAKANA + _UNSPACED
_LETTER = rf"(?:[^\W\d_](?<![{_NOT_WORD}]))"
_INNER = rf"(?:[\w'’-](?<![{_NOT_WORD}]))"
_LAST = rf"(?:\w(?<![{_NOT_WORD}]))"
_TOKEN = re.compile(rf"([{_HAN}{_HIRAGANA}{_KATAKANA}]+)|([{_UNSPACED}]+)|({_LETTER}(?:{_INNER}*{_LAST})?)", re.UNICODE)
_KANA = re.compile(rf"[{_HIRAGANA}{_KATAKANA}]")
_JAPANESE_PARTS = re.compile(rf"([{_HAN}]+)|([{_KATAKANA}]+)|[{_HIRAGANA}]+")
_MARK = re.compile(r"[\u0e31\u0e34-\u0e3a\u0e47-\u0e4e\u0eb1\u0eb4-\u0ebc\u0ec8-\u0ecd\u17b4-\u17d3"
                   r"\u102b-\u103e\u1056-\u1059\u105e-\u1060\u1062-\u1064\u1067-\u106d\u1071-\u1074"
                   r"\u1082-\u108d\u108f\u109a-\u109d]")
#: Terminal escape sequences, 7-bit and C1 forms: CSI (colours, cursor moves), OSC (titles, links), the DCS/SOS/PM/APC
#: strings, and two-character ESC sequences; none of their letters are words.
_ESCAPE_SEQUENCE = re.compile(r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
                              r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
                              r"|(?:\x1b[PX^_]|[\x90\x98\x9e\x9f])[^\x1b\x9c]*(?:\x1b\\|\x9c)?"
                              r"|\x1b[ -/]*[0-~]?")
#: Control characters other than tab and the line breaks (which already separate words and phrases).
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]")
#: Kanji runs longer than this (in a Japanese text) become character bigrams.
KANJI_WORD_MAX = 4

CHINESE_STOP_WORDS = frozenset("""
的 了 和 是 在 我 有 也 就 不 都 而 及 与 着 或 一个 没有 我们 你们 他们 她们 它们 这个 那个 这些 那些 这样 那样
自己 什么 怎么 怎么样 为什么 因为 所以 但是 可是 而且 如果 虽然 还是 就是 只是 已经 一下 一些 一点 非常 比较 真的 还有
可以 应该 需要 觉得 感觉 知道 现在 时候 之后 以后 之前 以前 然后 一直 一样 这么 那么 不是 没 很 太 又 再 吧 呢 啊 吗 呀
哦 嗯 哈 啦 被 把 让 给 对 从 向 到 为 以 于 上 下 中 里 后 前 个 这 那 他 她 它 你 您 其 之 等 说 要 会 能 去 来 做 用 看
得 地 过 还 更 最 就是 一 二 三 多 少 大 小 好 人 年 月 日 时 分 号 次 两 几 每 各 该 此 并 但 却 且 而是 以及 以下 以上 如何
哪 哪里 哪些 这里 那里 怎样 有些 有点 一般 其实 当然 可能 只有 不过 不要 不会 不能 没什么 有没有 是不是 能不能 会不会
""".split())

JAPANESE_STOP_WORDS = frozenset("""
する です ます ください して した しない ある いる なる こと もの ため よう これ それ あれ この その あの どの
ここ そこ どこ 私 僕 俺 あなた 今 何 方 時 中 上 下 前 後 様 さん
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


def _function_words() -> frozenset[str]:
    from engine.languages import FUNCTION_WORDS, OTHER_FUNCTION_WORDS

    lists = [words for lang, words in FUNCTION_WORDS.items() if lang != "en"] + list(OTHER_FUNCTION_WORDS.values())
    return frozenset(w for words in lists for w in words.split())


@functools.cache
def stop_words() -> frozenset[str]:
    """Words that are never keywords: scikit-learn's English list (less :data:`_KEEP`), Chinese and
    Japanese particles, chat filler and the function words of other languages.  Built on first use:
    importing scikit-learn is slow, and reopening a file with cached term counts does not need it."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return ((frozenset(ENGLISH_STOP_WORDS) - _KEEP) | CHINESE_STOP_WORDS | JAPANESE_STOP_WORDS
            | frozenset(_ENGLISH_EXTRA) | _function_words())

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


def without_escapes(text: str) -> str:
    """``text`` with terminal escape sequences removed and other control characters made spaces."""
    if _CONTROL.search(text) is None:
        return text
    return _CONTROL.sub(" ", _ESCAPE_SEQUENCE.sub("", text))


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
    text = without_escapes(text)
    runs: list[list[str]] = [[]]
    end = 0
    japanese = _KANA.search(text) is not None
    for match in _TOKEN.finditer(text):
        if _breaks(text[end: match.start()]):
            runs.append([])
        end = match.end()
        cjk, unspaced, word = match.groups()
        if cjk:
            if japanese:
                for i, part in enumerate(_japanese_runs(cjk)):
                    if i and runs[-1]:
                        runs.append([])
                    _add(runs, part)
                continue
            candidates = [cjk] if len(cjk) == 1 else _segmenter().lcut(cjk, HMM=True)
        elif unspaced:
            for gram in char_ngrams(unspaced, 3):  # each its own run: overlapping n-grams make no phrases
                runs.append([])
                _add(runs, [gram])
            runs.append([])
            continue
        else:
            candidates = [word.lower().replace("’", "'")]
        _add(runs, candidates)
    return [run for run in runs if run]


def _add(runs: list[list[str]], candidates: list[str]) -> None:
    """Append keyword candidates to the current run; a dropped one (stop word, one letter) ends the run."""
    stop = stop_words()
    for token in candidates:
        if len(token) > 1 and token not in stop:
            runs[-1].append(token)
        elif runs[-1]:
            runs.append([])


def _japanese_runs(run: str) -> list[list[str]]:
    """Keyword candidates of a Japanese kanji/kana run as phrase runs; an empty run is a break
    (hiragana, or between n-grams, which never pair up into bigrams)."""
    out: list[list[str]] = [[]]
    for match in _JAPANESE_PARTS.finditer(run):
        kanji, katakana = match.groups()
        if katakana:
            out[-1].append(katakana)
        elif kanji and len(kanji) <= KANJI_WORD_MAX:
            out[-1].append(kanji)
        elif kanji:
            for gram in char_ngrams(kanji, 2):
                out.extend([[gram], []])
        else:  # hiragana: particles and endings end a phrase
            out.append([])
    return out


def char_ngrams(run: str, n: int) -> list[str]:
    """Overlapping n-grams of the letters of ``run``, a letter keeping its combining marks; the run itself if shorter."""
    letters: list[str] = []
    for ch in run:
        if letters and _MARK.match(ch):
            letters[-1] += ch
        else:
            letters.append(ch)
    if len(letters) <= n:
        return ["".join(letters)]
    return ["".join(letters[i: i + n]) for i in range(len(letters) - n + 1)]


def _breaks(gap: str) -> bool:
    """Whether the text between two tokens ends a phrase (anything but spaces, hyphens, apostrophes)."""
    return any(not (ch.isspace() or ch in "-'’") for ch in gap)
