"""The Qwen3-Embedding path, for real, without downloading: a tiny random Qwen3 in sentence-transformers format.

The fixture lays the model out as Qwen/Qwen3-Embedding-0.6B is laid out
(Qwen3Model weights, a byte-level BPE tokenizer that appends <|endoftext|> and
pads on the left, Transformer → Pooling(lasttoken) → Normalize, a ``query``
prompt), only with 2 small layers and a 400-token vocabulary trained here.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from engine.embedding import embed_texts, open_cache
from engine.errors import UsageError
from engine.models import cache_key
from engine.st_embedder import SentenceTransformerEmbedder

QUERY_PROMPT = "Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery:"
MAX_TOKENS = 32
HIDDEN = 32
TEXTS = ["The battery drains fast", "delivery was late again and again, the parcel came a week after the date",
         "退款速度太慢了，客服态度很差", "screen is bright", "ok"]


def build_tiny_qwen3(out: Path) -> Path:
    """Write a randomly initialised tiny Qwen3 embedding model in sentence-transformers format to ``out``."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast, Qwen3Config, Qwen3Model

    out.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(TEXTS * 20 + [QUERY_PROMPT] * 5, trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    eos = tok.token_to_id("<|endoftext|>")
    # Like Qwen3-Embedding's tokenizer.json: every text ends with <|endoftext|>, whose state is the embedding.
    tok.post_processor = processors.TemplateProcessing(single="$A <|endoftext|>", pair="$A <|endoftext|> $B <|endoftext|>",
                                                       special_tokens=[("<|endoftext|>", eos)])
    PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<|endoftext|>",
                            padding_side="left", model_max_length=MAX_TOKENS).save_pretrained(out)
    config_path = out / "tokenizer_config.json"
    config = json.loads(config_path.read_text())
    config["tokenizer_class"] = "Qwen2Tokenizer"
    config_path.write_text(json.dumps(config, indent=1))
    torch.manual_seed(0)
    Qwen3Model(Qwen3Config(vocab_size=tok.get_vocab_size(), hidden_size=HIDDEN, intermediate_size=64,
                           num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=8,
                           max_position_embeddings=128, pad_token_id=eos, eos_token_id=eos, bos_token_id=eos)
               ).save_pretrained(out)
    (out / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]))
    (out / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": MAX_TOKENS, "do_lower_case": False}))
    (out / "1_Pooling").mkdir(exist_ok=True)
    (out / "1_Pooling" / "config.json").write_text(json.dumps({
        "word_embedding_dimension": HIDDEN, "pooling_mode_cls_token": False, "pooling_mode_mean_tokens": False,
        "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_weightedmean_tokens": False, "pooling_mode_lasttoken": True, "include_prompt": True}))
    (out / "2_Normalize").mkdir(exist_ok=True)
    (out / "config_sentence_transformers.json").write_text(json.dumps({
        "prompts": {"query": QUERY_PROMPT, "document": ""}, "default_prompt_name": None,
        "similarity_fn_name": "cosine"}))
    return out


@pytest.fixture(scope="module")
def qwen3_dir(tmp_path_factory) -> Path:
    return build_tiny_qwen3(tmp_path_factory.mktemp("qwen3") / "tiny-qwen3-embedding")


@pytest.fixture(scope="module")
def qwen3(qwen3_dir) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(str(qwen3_dir), device="cpu")


def reference(model_dir: Path, text: str) -> np.ndarray:
    """What Qwen3-Embedding's model card does by hand: last hidden state of the last token, normalized."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir).eval()
    batch = tokenizer([text], truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
    with torch.no_grad():
        state = model(**batch).last_hidden_state[0, -1].numpy()
    return state / np.linalg.norm(state)


def test_loads_with_left_padding_last_token_pooling_and_a_query_prompt(qwen3):
    st = qwen3.model
    assert st.tokenizer.padding_side == "left"
    assert st.prompts["query"] == QUERY_PROMPT
    assert "lasttoken" in repr(st[1]) and type(st[2]).__name__ == "Normalize"
    assert qwen3.dim == qwen3.native_dim == HIDDEN and qwen3.max_seq_length == MAX_TOKENS
    ids = st.tokenizer(["ok", TEXTS[0]], padding=True)
    eos = st.tokenizer.convert_tokens_to_ids("<|endoftext|>")
    assert all(row[-1] == eos for row in ids["input_ids"])  # padded on the left, ending in <|endoftext|>
    assert ids["attention_mask"][0][0] == 0 and ids["attention_mask"][0][-1] == 1


def test_documents_are_the_last_token_state_whatever_the_padding(qwen3, qwen3_dir):
    batch = qwen3.encode(TEXTS)
    alone = np.stack([qwen3.encode([t])[0] for t in TEXTS])
    np.testing.assert_allclose(batch, alone, atol=2e-5)
    np.testing.assert_allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    for text, vector in zip(TEXTS, batch):
        assert float(vector @ reference(qwen3_dir, text)) > 0.9999


def test_queries_get_the_model_prompt_or_the_instruction(qwen3_dir, qwen3):
    query = "battery problems"
    np.testing.assert_allclose(qwen3.encode_query(query), qwen3.encode([QUERY_PROMPT + query])[0], atol=2e-5)
    assert float(qwen3.encode_query(query) @ qwen3.encode([query])[0]) < 0.999  # documents get no prompt
    instructed = SentenceTransformerEmbedder(str(qwen3_dir), device="cpu", instruction="Find complaints about delivery")
    np.testing.assert_allclose(instructed.encode_query(query),
                               qwen3.encode(["Instruct: Find complaints about delivery\nQuery:" + query])[0], atol=2e-5)
    assert float(instructed.encode_query(query) @ reference(
        qwen3_dir, "Instruct: Find complaints about delivery\nQuery:" + query)) > 0.9999
    assert instructed.identity == qwen3.identity  # documents are embedded alike: one cache


def test_dim_keeps_the_first_dimensions_renormalized(qwen3_dir, qwen3):
    small = SentenceTransformerEmbedder(str(qwen3_dir), device="cpu", dim=8)
    full = qwen3.encode(TEXTS)[:, :8]
    np.testing.assert_allclose(small.encode(TEXTS), full / np.linalg.norm(full, axis=1, keepdims=True), atol=2e-5)
    query = small.encode_query("late delivery")
    assert query.shape == (8,) and abs(float(np.linalg.norm(query)) - 1) < 1e-5
    assert cache_key(small.identity) != cache_key(qwen3.identity)
    with pytest.raises(UsageError, match="--dim 64"):
        SentenceTransformerEmbedder(str(qwen3_dir), device="cpu", dim=64)


def test_cache_serves_the_second_run_and_keeps_dimensions_apart(qwen3_dir, qwen3, tmp_path):
    texts = [f"{t} #{i}" for i in range(20) for t in TEXTS]
    first, stats1 = embed_texts(texts, qwen3, open_cache(qwen3, tmp_path))
    second, stats2 = embed_texts(texts, qwen3, open_cache(qwen3, tmp_path))
    assert stats1.embedded == len(texts) and stats2.cached == len(texts) and stats2.embedded == 0
    np.testing.assert_array_equal(first, second)
    small = SentenceTransformerEmbedder(str(qwen3_dir), device="cpu", dim=8)
    _, stats3 = embed_texts(texts, small, open_cache(small, tmp_path))
    assert stats3.embedded == len(texts)  # another dimension: another cache, never a wrong hit


def test_rows_past_the_token_limit_are_counted(qwen3):
    long = " ".join(["delivery was late"] * 30)
    texts = ["ok", long, "screen is bright", long + " again"]
    assert qwen3.truncated_mask(texts).tolist() == [False, True, False, True]
    ids = qwen3.model.tokenize([long])["input_ids"][0]
    assert len(ids) == MAX_TOKENS and int(ids[-1]) == qwen3.model.tokenizer.convert_tokens_to_ids("<|endoftext|>")


def test_session_and_summary_report_truncated_rows(qwen3, tmp_path):
    from rich.console import Console

    from engine.clustering import ClusterSettings
    from engine.options import SessionOptions
    from engine.session import Session
    from tui.report import print_summary, summary_dict

    path = tmp_path / "long.jsonl"
    rows = [{"text": t} for t in TEXTS * 4] + [{"text": " ".join(["battery drains"] * 40)}] * 2
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    session = Session.open(path, SessionOptions(cache_dir=tmp_path / "cache"), embedder=qwen3)
    assert session.truncated_rows.tolist() == [20, 21]
    analysis = session.cluster(ClusterSettings(algo="kmeans", k=2))
    console = Console(record=True, width=120)
    print_summary(session, analysis, None, console=console)
    assert "2 rows longer than the model's 32-token limit" in console.export_text()
    assert summary_dict(session, analysis, None)["embedding"]["truncated_rows"] == 2


def test_half_precision_needs_a_gpu(qwen3_dir):
    with pytest.raises(UsageError, match="fp16"):
        SentenceTransformerEmbedder(str(qwen3_dir), device="cpu", precision="fp16")
    assert SentenceTransformerEmbedder(str(qwen3_dir), device="cpu").precision == "fp32"
