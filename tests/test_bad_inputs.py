"""Every bad or odd input of :mod:`tests.bad_inputs` through the loader, ``qtui cluster``, the app and ``qtui export``.

Each one gives either the rows it should (texts exact, bad records listed with
their line) or a one-line error naming the file, with exit status 2 from the
CLI and the same message in a dialog of the app.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import polars as pl
import pytest

from engine.clustering import ClusterSettings
from engine.errors import InputError, show_path
from engine.loading import load
from engine.options import SessionOptions
from tests.app_helpers import wait_opened, wait_until
from tests.bad_inputs import CASES, TEXTS, BadInput
from tests.cli import ROOT, qtui_env
from tui.app import QtuiApp
from tui.cli import main
from tui.screens.message_screen import MessageScreen

KMEANS2 = ("--algo", "kmeans", "--k", "2")
EMBEDDED = [c for c in CASES if c.embed]



def ids(cases: list[BadInput]) -> list[str]:
    return [c.name for c in cases]


def check_error(case: BadInput, path, message: str) -> None:
    """A one-line message naming the file (escaped) with each expected part."""
    assert "\n" not in message and "\x1b" not in message, message
    assert show_path(path) in message, message
    for part in case.error:
        assert part in message, message
    assert "Traceback" not in message


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_loader(case, tmp_path, record):
    path = case.make(tmp_path)
    t = time.perf_counter()
    if not case.loads:
        with pytest.raises(InputError) as info:
            load(path, case.options())
        check_error(case, path, str(info.value))
        assert info.value.exit_code == 2
        return
    corpus = load(path, case.options())
    seconds = time.perf_counter() - t
    if len(corpus) >= 100_000:
        record(f"load {case.name}: {len(corpus):,} rows in {seconds:.2f} s")
    assert len(corpus) == len(corpus.texts) == len(corpus.ids) == len(corpus.lines) == case.rows
    assert corpus.frame.height == case.rows
    assert tuple(corpus.texts[:len(case.texts)]) == case.texts
    assert tuple(s.line for s in corpus.skipped) == case.skipped
    if case.ids:
        assert tuple(corpus.ids) == case.ids
    elif corpus.id_col is None:
        assert len(set(corpus.ids)) == len(corpus.ids)
    if case.notice:
        assert any(case.notice in n for n in corpus.notices), corpus.notices
    if case.name.startswith("1,000,000"):
        assert corpus.texts[-1] == "w999999" and corpus.lines[-1] == 1_000_000


@pytest.mark.parametrize("case", EMBEDDED, ids=ids(EMBEDDED))
def test_qtui_cluster(case, tmp_path, capsys):
    path = case.make(tmp_path)
    out = tmp_path / "out.csv"
    code, stdout, stderr = run_cli(capsys, "cluster", path, *case.args, *KMEANS2, "-q", "--export", out)
    if not case.loads:
        assert code == 2 and not stdout
        assert stderr.startswith("qtui: error: ") and stderr.count("\n") == 1, stderr
        check_error(case, path, stderr.strip())
        assert not out.exists()
        return
    assert code == 0, stderr
    assert "\x1b" not in stdout
    frame = pl.read_csv(out, infer_schema=False)
    assert frame.height == case.rows
    assert tuple(frame["text"].to_list()[:len(case.texts)]) == case.texts
    for line in case.skipped:
        assert f"{show_path(path)}:{line}" in stdout


@pytest.mark.parametrize("case", EMBEDDED, ids=ids(EMBEDDED))
async def test_app_and_qtui_export(case, tmp_path, embedder, capsys):
    """The app shows the CLI's message in a dialog, or opens the rows; ``qtui export`` then writes them all."""
    path = case.make(tmp_path)
    options = SessionOptions(load=case.options())
    app = QtuiApp(path, options, ClusterSettings("kmeans", k=2), embedder=embedder)
    async with app.run_test(size=(120, 36)) as pilot:
        if not case.loads:
            await wait_until(pilot, lambda: isinstance(app.screen, MessageScreen), 60, "the error dialog")
            with pytest.raises(InputError) as info:
                load(path, case.options())
            assert app.screen.message == str(info.value)
            await pilot.press("enter")
            assert not isinstance(app.screen, MessageScreen)
        else:
            await wait_opened(pilot)
            assert len(app.session.corpus) == case.rows
            assert tuple(app.session.corpus.texts[:len(case.texts)]) == case.texts
        assert app.return_code is None  # still running, not crashed
    out = tmp_path / "review.csv"
    code, _, stderr = run_cli(capsys, "export", path, *case.args[:2] if "--encoding" in case.args else (),
                                   "--out", out, "-q")
    if not case.loads:
        assert code == 2 and stderr.count("\n") == 1 and show_path(path) in stderr, stderr
        if not path.is_file():  # a missing file or a directory: the loader's words
            assert all(part in stderr for part in case.error), stderr
        else:  # a file qtui cannot read has no saved review to export
            assert "no saved review of this file" in stderr, stderr
        assert not out.exists()
        return
    assert code == 0, stderr
    frame = pl.read_csv(out, infer_schema=False)
    assert frame.height == case.rows
    assert tuple(frame["text"].to_list()[:len(case.texts)]) == case.texts


def test_real_qtui_command_exit_codes(tmp_path):
    """The installed console script, not just ``main``: status 2 and one line for bad input, 0 for a good one."""
    by_name = {c.name: c for c in CASES}
    script = shutil.which("qtui", path=os.path.dirname(sys.executable)) or "qtui"
    env = qtui_env()
    for name, status in (("header only", 2), ("Latin-1", 2), ("GB18030", 0)):
        case = by_name[name]
        path = case.make(tmp_path)
        result = subprocess.run([script, "cluster", str(path), *KMEANS2, "-q"], capture_output=True, text=True,
                                env=env, cwd=ROOT, timeout=600, check=False)
        assert result.returncode == status, result.stderr
        if status:
            assert result.stderr.count("\n") == 1 and show_path(path) in result.stderr
        else:
            assert "电池" in result.stdout or "物流" in result.stdout


def _without_dac_override() -> list[str]:
    """A prefix that runs a command as this user without the capability to read any file (root included)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root, where chmod 000 does not stop reads, and setpriv is missing to drop that")
    return [setpriv, "--inh-caps=-dac_override,-dac_read_search", "--bounding-set=-dac_override,-dac_read_search"]


def test_unreadable_file(tmp_path):
    """chmod 000: one line, exit 2 (as root the read capability is dropped first, since root reads anything)."""
    path = tmp_path / "locked.jsonl"
    path.write_text('{"text": "secret"}\n', encoding="utf-8")
    path.chmod(0)
    try:
        script = os.path.join(os.path.dirname(sys.executable), "qtui")
        result = subprocess.run([*_without_dac_override(), script, "cluster", str(path), "-q"], capture_output=True,
                                text=True, env=qtui_env(), cwd=ROOT, timeout=600, check=False)
    finally:
        path.chmod(0o644)
    assert result.returncode == 2, result.stderr
    assert result.stderr == f"qtui: error: {path}: permission denied (check the file's read permission)\n"


def test_file_changing_while_read(tmp_path):
    """A writer appends records while qtui reads: every record loaded is one the writer finished, in order,
    or the load stops with 'changed while it was being read'; never a torn or shuffled row."""
    path = tmp_path / "growing.jsonl"
    path.write_text("".join(f'{{"text": "record {i:07d} {"x" * 200}"}}\n' for i in range(50_000)), encoding="utf-8")
    writer = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        "f = open(sys.argv[1], 'a')\n"
        "i = 50000\n"
        "end = time.time() + float(sys.argv[2])\n"
        "while time.time() < end:\n"
        "    f.write('{\"text\": \"record %07d ' % i + 'x' * 200 + '\"}\\n'); f.flush(); i += 1\n"
    ), str(path), "3"])
    outcomes = []
    try:
        time.sleep(0.2)
        for _ in range(3):
            try:
                corpus = load(path)
            except InputError as exc:
                assert str(exc) == (f"{path}: changed while it was being read (4 tries) (wait until the program "
                                    "writing it has finished, or open a copy)")
                outcomes.append("changed")
                continue
            numbers = [int(t.split()[1]) for t in corpus.texts]
            assert numbers == list(range(len(numbers))) and len(numbers) >= 50_000
            assert all(t.endswith("x" * 200) for t in corpus.texts)
            assert [s.line for s in corpus.skipped] in ([], [len(numbers) + 1])  # at most a torn last line
            outcomes.append(len(numbers))
    finally:
        writer.wait(timeout=30)
    assert outcomes, outcomes


def test_control_characters_are_escaped_in_the_cli_summary(tmp_path, capsys):
    path = tmp_path / "ansi.txt"
    evil = ["red \x1b[31malert\x1b[0m now", "title \x1b]0;pwned\x07 set", "clear\x1b[2J screen", "bell\x07 ring"]
    path.write_text("\n".join(evil * 3 + TEXTS) + "\n", encoding="utf-8")
    code, stdout, stderr = run_cli(capsys, "cluster", path, *KMEANS2, "--top", "5")
    assert code == 0, stderr
    assert "\x1b" not in stdout and "\x07" not in stdout
    assert "\\x1b[31malert" in stdout or "\\x1b]0;pwned" in stdout or "\\x1b[2J" in stdout
    code, stdout, _ = run_cli(capsys, "cluster", path, *KMEANS2, "--json")
    assert code == 0 and "\x1b" not in stdout  # JSON escapes it as \u001b


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_failed_open_is_one_line_from_session_open_and_exit_2(tmp_path, capsys):
    """A bad --label-col, an unreachable or malformed --embed-url: Session.open raises a QtuiError whose one
    line ``qtui cluster`` prints with exit status 2 (the app shows the same line)."""
    from engine.errors import QtuiError
    from engine.options import LoadOptions, ModelOptions
    from engine.session import Session
    from tests.conftest import SAMPLE

    url = f"http://127.0.0.1:{_free_port()}/v1"
    cases = [
        (LoadOptions(label_col="nope"), ModelOptions(), ("--label-col", "nope")),
        (LoadOptions(), ModelOptions(embed_url=url, retries=0), ("--embed-url", url, "--retries", "0")),
        (LoadOptions(), ModelOptions(embed_url="http://127.0.0.1:99999/v1"),
         ("--embed-url", "http://127.0.0.1:99999/v1")),
        (LoadOptions(), ModelOptions(embed_url="http://[::1:9/v1"), ("--embed-url", "http://[::1:9/v1")),
    ]
    expected = [f"{show_path(SAMPLE)}: --label-col: no column 'nope'; columns are: 'id', 'text', 'rating', 'product', "
                "'date', 'theme' (give one of the columns to --label-col)",
                f"embedding server {url}: unreachable (connection refused) (gave up after 1 try)",
                "--embed-url http://127.0.0.1:99999/v1: port out of range 0-65535; give an http(s) URL such as "
                "http://127.0.0.1:30000/v1",
                "--embed-url http://[::1:9/v1: invalid IPv6 URL; give an http(s) URL such as http://127.0.0.1:30000/v1"]
    for (load_options, model_options, args), message in zip(cases, expected):
        with pytest.raises(QtuiError) as info:
            Session.open(SAMPLE, SessionOptions(load=load_options, model=model_options, cache_dir=tmp_path))
        assert str(info.value) == message and info.value.exit_code == 2
        code, stdout, stderr = run_cli(capsys, "cluster", SAMPLE, *args, "--cache-dir", tmp_path, "-q")
        assert (code, stdout, stderr) == (2, "", f"qtui: error: {message}\n")
