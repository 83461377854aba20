"""The MS-COCO half of the E2E scorer: tokenisation, METEOR 1.5, ROUGE-L and CIDEr-D.

tuetschek/e2e-metrics runs pycocoevalcap's `COCOEvalCap`: every text goes through the Stanford
PTBTokenizer (`-preserveLines -lowerCase`, punctuation tokens dropped), then METEOR 1.5 (jar),
ROUGE-L and CIDEr-D (pure Python) score the tokenised texts. Here:

* `ptb_tokenize` drives the CoreNLP 3.4.1 jar itself (one Java call for all texts, a temporary
  directory of its own, a timeout, a line-count check) instead of pycocoevalcap's `PTBTokenizer`,
  which writes into its install directory and silently misaligns on a short output.
* `regex_tokenize` is the no-Java stand-in. Implementation notes D.1 allow a regex tokeniser
  within 0.0001 ROUGE-L / 0.0025 CIDEr of PTB on E2E; this one reproduces PTB's tokens exactly on
  every E2E dev and test reference (it differs only on abbreviations like "st." that PTB keeps).
* `meteor` drives `meteor-1.5.jar -stdio` with the same protocol as pycocoevalcap's `Meteor` (one
  SCORE line per instance with all its references, one EVAL line for the corpus) but with a
  watchdog, stderr to a file and the process always reaped.
* `rouge_l` and `cider_d` call pycocoevalcap's `Rouge` and `Cider` directly.

Usage:
    import shutil
    from benchmark.metrics.coco import meteor, ptb_tokenize
    java = shutil.which("java")
    hyp, ref = ptb_tokenize(["The Eagle is cheap.", "The Eagle is a cheap pub."], java)
    corpus_meteor, per_instance = meteor([hyp], [[ref]], java)
"""

from __future__ import annotations

import logging
import re
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.rouge.rouge import Rouge
from pycocoevalcap.tokenizer.ptbtokenizer import PUNCTUATIONS

from benchmark.metrics.java import JavaToolError, corenlp_jar, meteor_jar

log = logging.getLogger(__name__)

PTB_TOKENIZER = (
    "ptb: stanford-corenlp-3.4.1 PTBTokenizer -preserveLines -lowerCase, "
    "pycocoevalcap punctuation tokens removed"
)
REGEX_TOKENIZER = (
    "regex-1: lower-case; currency and brackets spelled as PTB (£->#, €->$, ¢->cents, "
    '(->-lrb- etc., kept as words as the official scorer keeps them); split off "!?;$¥#% and -- '
    "everywhere and .,: unless between digits; strip - ' ` at token edges (keeping a minus "
    "before a digit); split clitics n't 's 're 've 'll 'd 'm; drop punctuation tokens "
    "(PTB stand-in, used because java is absent)"
)
METEOR_ARGS = ("-", "-", "-stdio", "-l", "en", "-norm")  # exactly pycocoevalcap's Meteor
# Pinned so that METEOR reads UTF-8 (E2E has "Café") whatever the locale; a no-op in UTF-8 locales.
JAVA_OPTIONS = ("-Dfile.encoding=UTF-8",)
METEOR_HEAP = "-Xmx2G"  # pycocoevalcap's setting; the paraphrase table needs about 1 GB

# Timeouts: the METEOR jar needs ~7 s to load its paraphrase table and then ~1 ms per instance;
# PTBTokenizer needs <1 s to start and tokenises >10k lines/s. The margins are generous because a
# loaded 2-core machine is slow, while a hang must still end with an error, not block a grid.
_STARTUP_TIMEOUT_S = 180.0
_PER_LINE_TIMEOUT_S = 0.05

_LINE_BREAKS = re.compile(r"[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")


def one_line(text: str) -> str:
    """Replace every line break (as Python's `str.splitlines` sees them) by a space.

    The official scorer reads one text per line, and PTBTokenizer's `-preserveLines` maps input
    lines to output lines, so a text must never contain a line break.
    """
    return _LINE_BREAKS.sub(" ", text)


def _drop_punctuation(tokens: Sequence[str]) -> str:
    # pycocoevalcap: ' '.join(w for w in line.rstrip().split(' ') if w not in PUNCTUATIONS)
    return " ".join(token for token in tokens if token not in PUNCTUATIONS)


def ptb_tokenize(texts: Sequence[str], java: str) -> list[str]:
    """PTB-tokenise, lower-case and de-punctuate `texts` with Stanford CoreNLP 3.4.1 via `java`.

    Returns one space-joined token string per text (possibly ""), as pycocoevalcap's
    `PTBTokenizer` does. Raises `JavaToolError` on a failed run or a line-count mismatch.
    """
    if not texts:
        return []
    with tempfile.TemporaryDirectory(prefix="ptb-") as workdir:
        path = Path(workdir) / "texts.txt"
        # One text per line, each ending in "\n": PTBTokenizer then prints exactly one line per
        # input line, empty inputs included.
        path.write_text("".join(one_line(text) + "\n" for text in texts), encoding="utf-8")
        command = [
            java,
            *JAVA_OPTIONS,
            "-cp",
            str(corenlp_jar()),
            "edu.stanford.nlp.process.PTBTokenizer",
            "-preserveLines",
            "-lowerCase",
            str(path),
        ]
        timeout = _STARTUP_TIMEOUT_S + _PER_LINE_TIMEOUT_S * len(texts)
        try:
            proc = subprocess.run(
                command, capture_output=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL
            )
        except subprocess.TimeoutExpired as err:
            raise JavaToolError(f"PTBTokenizer did not finish within {timeout:.0f} s") from err
        except OSError as err:
            raise JavaToolError(f"could not start PTBTokenizer with {java!r}: {err}") from err
    if proc.returncode != 0:
        stderr = proc.stderr.decode("utf-8", "replace")[-2000:]
        raise JavaToolError(f"PTBTokenizer exited with {proc.returncode}: {stderr}")
    try:
        lines = proc.stdout.decode("utf-8").split("\n")
    except UnicodeDecodeError as err:
        raise JavaToolError(f"PTBTokenizer output is not UTF-8: {err}") from err
    if lines and lines[-1] == "":
        lines.pop()  # the final "\n" of the output
    if len(lines) != len(texts):
        raise JavaToolError(
            f"PTBTokenizer returned {len(lines)} lines for {len(texts)} texts; refusing to "
            "score misaligned texts"
        )
    return [_drop_punctuation(line.rstrip().split(" ")) for line in lines]


# --- regex stand-in for PTBTokenizer ------------------------------------------------------------
# PTBTokenizer 3.4.1 normalises currency symbols ("£20-25" -> "# 20-25", "€" -> "$", "¢" -> "cents");
# the same spelling here keeps CIDEr's n-grams and document frequencies identical to PTB's.
_CURRENCY = {"£": " # ", "€": " $ ", "¢": " cents "}
# PTB spells brackets -LRB- etc.; lower-cased by -lowerCase they no longer match pycocoevalcap's
# upper-case punctuation list, so the official scorer KEEPS them as words.
_BRACKETS = {"(": "-lrb-", ")": "-rrb-", "[": "-lsb-", "]": "-rsb-", "{": "-lcb-", "}": "-rcb-"}
_BRACKET_TOKENS = frozenset(_BRACKETS.values())
# PTB makes these single-character tokens wherever they occur.
_ALWAYS_SPLIT = re.compile(r"([\"!?;$¥#%]|--)")
# Commas, periods and colons stay inside numbers ("1,000", "3.5", "10:30"), else are split.
_SPLIT_PERIOD_COMMA_COLON = re.compile(r"(?<!\d)([.,:])|([.,:])(?!\d)")
# Clitics PTB separates: "don't" -> "do n't", "can't" -> "ca n't", "it's" -> "it 's".
_CLITICS = ("n't", "'s", "'re", "'ve", "'ll", "'d", "'m")
# Hyphens and quotes split off only at token edges ("family-friendly", "20-25" stay whole in PTB
# too); a leading hyphen before a digit is a minus sign and stays ("£ -25" -> "# -25").
_EDGE_CHARACTERS = "-'`"
_NEGATIVE_NUMBER = re.compile(r"-\d")
_REGEX_PUNCTUATION = frozenset(PUNCTUATIONS) | frozenset('"!?;:.,')


def _pad(match: re.Match[str]) -> str:
    return f" {match.group(0)} "


def _split_clitic(token: str) -> list[str]:
    if token in _CLITICS or token in _BRACKET_TOKENS:  # e.g. pre-tokenised "do n't"
        return [token]
    minus = "-" if _NEGATIVE_NUMBER.match(token) else ""
    token = minus + token.strip(_EDGE_CHARACTERS)
    for clitic in _CLITICS:
        if token.endswith(clitic) and len(token) > len(clitic):
            return [token[: -len(clitic)], clitic]
    return [token] if token else []


def regex_tokenize(text: str) -> str:
    """Approximate PTB tokenisation + lower-casing + punctuation removal without Java.

    Used for ROUGE-L and CIDEr only when `java` is absent (METEOR is then not computed at all).
    Returns space-joined tokens like `ptb_tokenize`.
    """
    text = one_line(text).lower()
    for symbol, spelled in _CURRENCY.items():
        text = text.replace(symbol, spelled)
    for bracket, spelled in _BRACKETS.items():
        text = text.replace(bracket, f" {spelled} ")
    text = _ALWAYS_SPLIT.sub(_pad, text)
    text = _SPLIT_PERIOD_COMMA_COLON.sub(_pad, text)
    tokens = [piece for token in text.split() for piece in _split_clitic(token)]
    return " ".join(token for token in tokens if token not in _REGEX_PUNCTUATION)


# --- ROUGE-L and CIDEr-D (pycocoevalcap, pure Python) -------------------------------------------
def _coco_inputs(
    hypotheses: Sequence[str], references: Sequence[Sequence[str]]
) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} reference lists")
    if any(not refs for refs in references):
        raise ValueError("every hypothesis needs at least one reference")
    gts = {index: list(refs) for index, refs in enumerate(references)}
    res = {index: [hyp] for index, hyp in enumerate(hypotheses)}
    return gts, res


def rouge_l(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """COCO ROUGE-L (LCS F-measure, beta 1.2, max precision and max recall over references taken
    separately), averaged over instances; inputs are already tokenised (space-joined). Scale 0-1."""
    gts, res = _coco_inputs(hypotheses, references)
    score, _ = Rouge().compute_score(gts, res)
    return float(score)


def cider_d(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """COCO CIDEr-D (n=4, sigma=6, x10) on tokenised inputs. Document frequencies come from the
    references given here, so the value depends on the whole evaluated set (a one-instance corpus
    always scores 0, because every n-gram then has idf log(1/1) = 0)."""
    gts, res = _coco_inputs(hypotheses, references)
    score, _ = Cider().compute_score(gts, res)
    return float(score)


# --- METEOR 1.5 ---------------------------------------------------------------------------------
def _protocol_safe_hypothesis(text: str) -> str:
    # "|||" separates fields in METEOR's stdio protocol; pycocoevalcap removes it from hypotheses
    # and collapses (once) the double space that leaves.
    return text.replace("|||", "").replace("  ", " ")


def _protocol_safe_reference(text: str) -> str:
    # pycocoevalcap sends references unchanged; removing "|||" (absent from real references)
    # keeps a stray one from shifting the fields.
    return text.replace("|||", "")


class _MeteorProcess:
    """One `meteor-1.5.jar -stdio` process with a kill-on-deadline watchdog."""

    def __init__(self, java: str, timeout_s: float) -> None:
        jar = meteor_jar()
        command = [java, *JAVA_OPTIONS, "-jar", METEOR_HEAP, str(jar), *METEOR_ARGS]
        self._stderr = tempfile.TemporaryFile()
        try:
            # cwd = the jar's folder: METEOR finds data/paraphrase-en.gz relative to it.
            self._proc = subprocess.Popen(
                command,
                cwd=jar.parent,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
            )
        except OSError as err:
            self._stderr.close()
            raise JavaToolError(f"could not start METEOR with {java!r}: {err}") from err
        self._timed_out = threading.Event()
        self._watchdog = threading.Timer(timeout_s, self._kill_on_deadline)
        self._watchdog.daemon = True
        self._watchdog.start()
        self._timeout_s = timeout_s

    def _kill_on_deadline(self) -> None:
        self._timed_out.set()
        self._proc.kill()

    def _fail(self, what: str) -> JavaToolError:
        if self._timed_out.is_set():
            return JavaToolError(f"METEOR did not finish within {self._timeout_s:.0f} s ({what})")
        self._stderr.seek(0)
        stderr = self._stderr.read().decode("utf-8", "replace")[-2000:]
        return JavaToolError(f"METEOR failed ({what}); exit code {self._proc.poll()}: {stderr}")

    def send(self, line: str) -> None:
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write((line + "\n").encode("utf-8"))
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError) as err:
            raise self._fail("writing to it") from err

    def receive(self) -> str:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise self._fail("it closed its output early")
        return line.decode("utf-8").strip()

    def receive_float(self) -> float:
        line = self.receive()
        try:
            return float(line)
        except ValueError as err:
            raise self._fail(f"expected a number, got {line[:200]!r}") from err

    def close(self) -> None:
        self._watchdog.cancel()
        try:
            if self._proc.stdin is not None:
                self._proc.stdin.close()  # end of input: METEOR exits on its own
        except OSError:
            pass
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        self._stderr.close()


def meteor(
    hypotheses: Sequence[str], references: Sequence[Sequence[str]], java: str
) -> tuple[float, list[float]]:
    """METEOR 1.5 (`-l en -norm`) on tokenised inputs: (corpus score, per-instance scores), 0-1.

    The corpus score is METEOR's own aggregate over all instances' statistics (the EVAL line),
    which is what the E2E scorer reports; it is NOT the mean of the per-instance scores.
    """
    _coco_inputs(hypotheses, references)  # same validation as the other COCO metrics
    if not hypotheses:
        raise ValueError("METEOR needs at least one hypothesis")
    timeout = _STARTUP_TIMEOUT_S + _PER_LINE_TIMEOUT_S * (len(hypotheses) + len(references))
    process = _MeteorProcess(java, timeout)
    try:
        statistics = []
        for hypothesis, refs in zip(hypotheses, references):
            references_field = [_protocol_safe_reference(ref) for ref in refs]
            fields = ["SCORE", *references_field, _protocol_safe_hypothesis(hypothesis)]
            process.send(" ||| ".join(fields))
            statistics.append(process.receive())
        process.send(" ||| ".join(["EVAL", *statistics]))
        segment_scores = [process.receive_float() for _ in hypotheses]
        corpus_score = process.receive_float()
    finally:
        process.close()
    log.debug("METEOR scored %d instances: %.4f", len(hypotheses), corpus_score)
    return corpus_score, segment_scores
