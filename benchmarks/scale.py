"""Tag 1,000,000 generated records with the default model: wall time, records/s, peak RSS.

Target (issue 6): at most 10 minutes and 2 GB peak RSS on the 2-core development machine
(stretch: 3 minutes, 1.5 GB). Run with `make bench-scale` or
`python benchmarks/scale.py [--records N] [--workers 2] [--format csv|jsonl] [--dir DIR]`.

The text is generated to look like a biomedical search result, not like the corpus: each
abstract (about 200 words, 10-14 sentences) is built from sentence templates over a general
clinical vocabulary (conditions, populations, interventions, designs, outcomes, numbers),
and only some records mention the review's domain (peer support, mental health) or an
exclusion cue (adolescents, cancer, alcohol). `import_speed.py`'s bag of peer-support
keywords would trip a rule in almost every sentence, which no real search does and which
would make the criteria rules look several times slower than they are.

`peerscreen tag` runs as a subprocess under `/usr/bin/time -v`. Its "Maximum resident set
size" is that of the largest single process (the parent or one worker), so the script also
samples the whole process tree from /proc every second and reports its peak summed RSS and
summed PSS. Results are printed and written to `benchmarks/results/scale.md`.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "scale.md"
TIME = "/usr/bin/time"

CONDITIONS = (
    "type 2 diabetes", "hypertension", "chronic obstructive pulmonary disease", "heart failure",
    "atrial fibrillation", "osteoporosis", "chronic kidney disease", "asthma", "obesity",
    "rheumatoid arthritis", "major depression", "generalized anxiety disorder", "schizophrenia",
    "bipolar disorder", "dementia", "stroke", "breast cancer", "colorectal cancer", "HIV",
    "tuberculosis", "sepsis", "migraine", "low back pain", "psoriasis", "hepatitis C",
    "alcohol use disorder", "insomnia", "multiple sclerosis", "Parkinson's disease", "anemia",
)  # fmt: skip
POPULATIONS = (
    "adults", "older adults", "patients", "outpatients", "inpatients", "women", "men",
    "primary care patients", "veterans", "nursing home residents", "adolescents", "children",
    "pregnant women", "community-dwelling adults", "hospitalized patients", "volunteers",
)  # fmt: skip
INTERVENTIONS = (
    "a nurse-led education programme", "metformin", "a structured exercise programme",
    "telephone follow-up", "a mobile health application", "cognitive behavioural therapy",
    "a pharmacist intervention", "home visits", "a dietary intervention", "usual care",
    "a multidisciplinary care pathway", "an integrated care model", "low-dose aspirin",
    "a web-based self-management tool", "group education sessions", "physiotherapy",
    "a community health worker programme", "peer support groups", "case management",
)  # fmt: skip
DESIGNS = (
    "a randomised controlled trial", "a prospective cohort study", "a cross-sectional survey",
    "a retrospective chart review", "a systematic review and meta-analysis",
    "a qualitative interview study", "a cluster randomised trial", "a pilot study",
    "a population-based case-control study", "a secondary analysis of trial data",
)  # fmt: skip
OUTCOMES = (
    "glycaemic control", "blood pressure", "all-cause mortality", "hospital readmission",
    "health-related quality of life", "medication adherence", "depressive symptoms",
    "functional status", "length of stay", "patient satisfaction", "pain intensity",
    "emergency department visits", "self-efficacy", "body mass index", "cognitive function",
    "costs", "adverse events", "symptom severity", "social functioning", "employment",
)  # fmt: skip
SETTINGS = (
    "primary care", "a tertiary hospital", "rural clinics", "community health centres",
    "three European countries", "an urban academic medical centre", "general practice",
    "a national registry", "long-term care facilities", "outpatient clinics",
)  # fmt: skip
JOURNALS = (
    "BMC Health Services Research", "Journal of Clinical Medicine", "PLoS One",
    "International Journal of Nursing Studies", "Psychiatric Services", "BMJ Open",
)  # fmt: skip
SENTENCES = (
    "{Design} was conducted to evaluate {intervention} among {population} with {condition}.",
    "We enrolled {n} {population} with {condition} from {setting}.",
    "Participants were randomly assigned to {intervention} or {intervention2} for {k} months.",
    "The primary outcome was {outcome}; secondary outcomes included {outcome2} and {outcome3}.",
    "Data were collected at baseline, {k} months and {k2} months using validated instruments.",
    "Compared with {intervention2}, {intervention} improved {outcome} (mean difference {d}, "
    "95% CI {lo} to {hi}).",
    "No significant difference was found in {outcome2} between groups (p = 0.{p}).",
    "Multivariable regression adjusted for age, sex and comorbidity was used in the analysis.",
    "The prevalence of {condition} was {pct}% and was higher among {population}.",
    "Attrition was {pct}% and did not differ by allocation.",
    "{Outcome} was associated with {outcome2} (odds ratio {d}, 95% CI {lo} to {hi}).",
    "These findings suggest that {intervention} may reduce the burden of {condition} in {setting}.",
    "Further research is needed to confirm these results in larger and more diverse samples.",
    "Costs per patient were estimated from the health service perspective.",
    "Thematic analysis identified {k} themes relating to {outcome} and access to care.",
)
#: Sentences about the review's own domain, used in a minority of records.
DOMAIN_SENTENCES = (
    "Peer support workers with lived experience of mental illness facilitated weekly groups.",
    "Consumers of mental health services described the benefits of mutual help.",
    "A peer specialist met each participant with serious mental illness in person.",
    "Self-help groups run by members reduced hospitalization and improved recovery.",
    "Participants valued being understood by someone who had been through the same thing.",
)
#: Sentences that trip an exclusion rule (or its negation).
EXCLUSION_SENTENCES = (
    "Participants were adolescents aged 13-17 attending secondary schools.",
    "The programme was open exclusively to women.",
    "Patients with a history of alcohol dependence were excluded.",
    "A 12-week course was delivered by trained nurses.",
    "This editorial comments on recent developments in the field.",
)


def _fill(template: str, rng: random.Random) -> str:
    lo = round(rng.uniform(0.1, 2.0), 2)
    values = {
        "design": rng.choice(DESIGNS),
        "intervention": rng.choice(INTERVENTIONS),
        "intervention2": rng.choice(INTERVENTIONS),
        "population": rng.choice(POPULATIONS),
        "condition": rng.choice(CONDITIONS),
        "outcome": rng.choice(OUTCOMES),
        "outcome2": rng.choice(OUTCOMES),
        "outcome3": rng.choice(OUTCOMES),
        "setting": rng.choice(SETTINGS),
        "n": rng.randint(20, 4000),
        "k": rng.randint(2, 24),
        "k2": rng.randint(6, 36),
        "d": round(rng.uniform(0.2, 3.0), 2),
        "lo": lo,
        "hi": round(lo + rng.uniform(0.1, 1.5), 2),
        "p": rng.randint(10, 99),
        "pct": rng.randint(2, 60),
    }
    values["Design"] = values["design"][0].upper() + values["design"][1:]
    values["Outcome"] = values["outcome"][0].upper() + values["outcome"][1:]
    return template.format(**values)


def make_abstract(rng: random.Random, words: int = 200) -> str:
    """About `words` words of templated clinical prose; some records touch the domain."""
    sentences: list[str] = []
    count = 0
    domain = rng.random() < 0.15
    exclusion = rng.random() < 0.10
    while count < words:
        roll = rng.random()
        if domain and roll < 0.2:
            sentence = rng.choice(DOMAIN_SENTENCES)
        elif exclusion and roll < 0.3:
            sentence = rng.choice(EXCLUSION_SENTENCES)
            exclusion = False
        else:
            sentence = _fill(rng.choice(SENTENCES), rng)
        sentences.append(sentence)
        count += len(sentence.split())
    return " ".join(sentences)


def make_title(rng: random.Random) -> str:
    title = _fill("{Design} of {intervention} for {condition} in {setting}", rng)
    return re.sub(r"\s+", " ", title)


def generate(path: Path, n: int, seed: int = 0) -> Path:
    """Write `n` records to `path` (.csv or .jsonl), streaming (constant memory)."""
    rng = random.Random(seed)
    fields = ("record_id", "title", "abstract", "authors", "year", "journal", "doi")
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle) if path.suffix == ".csv" else None
        if writer is not None:
            writer.writerow(fields)
        for i in range(n):
            row = (
                f"S{i:07d}",
                make_title(rng),
                make_abstract(rng),
                "Smith, J.; Doe, K.",
                rng.randint(1980, 2024),
                rng.choice(JOURNALS),
                f"10.5555/scale.{i}",
            )
            if writer is not None:
                writer.writerow(row)
            else:
                handle.write(json.dumps(dict(zip(fields, row, strict=True))) + "\n")
    return path


# -- measuring -------------------------------------------------------------------------------
def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _memory(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in bytes; PSS shares each shared page among its users."""
    rss = pss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1]) * 1024
            elif line.startswith("Pss:"):
                pss = int(line.split()[1]) * 1024
    except OSError:
        pass
    return rss, pss


def tree_memory(root: int) -> tuple[int, int]:
    """Summed RSS and summed PSS of `root` and all its descendants. Summed RSS counts pages
    shared between processes (libraries) once per process, an upper bound; summed PSS
    counts them once in all, the machine's real use."""
    rss = pss = 0
    stack = [root]
    while stack:
        pid = stack.pop()
        one_rss, one_pss = _memory(pid)
        rss, pss = rss + one_rss, pss + one_pss
        stack += _children(pid)
    return rss, pss


class TreeSampler(threading.Thread):
    """Sample the process tree's memory every `interval` seconds; keep the peaks."""

    def __init__(self, pid: int, interval: float = 1.0):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_rss = self.peak_pss = 0
        self.done = threading.Event()

    def run(self) -> None:
        # reading smaps_rollup walks page tables: a few % of a core at 2 samples a second,
        # which the measured run would lose
        while not self.done.wait(self.interval):
            rss, pss = tree_memory(self.pid)
            self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)


def run_tag(source: Path, output: Path, workers: int, model: Path, dedup: bool) -> dict:
    """Run `peerscreen tag` under /usr/bin/time -v: wall time, /usr/bin/time's maximum RSS
    (that of the largest single process), and the sampled peaks of the whole tree."""
    exe = Path(sys.executable).with_name("peerscreen")
    command = [str(exe), "tag", str(source), "-o", str(output), "--model", str(model)]
    command += ["--workers", str(workers)] + ([] if dedup else ["--no-dedup"])
    timed = [TIME, "-v", *command] if Path(TIME).exists() else command
    load = os.getloadavg()[0]
    start = time.perf_counter()
    process = subprocess.Popen(timed, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampler = TreeSampler(process.pid)
    sampler.start()
    stdout, stderr = process.communicate()
    wall = time.perf_counter() - start
    sampler.done.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"peerscreen tag failed ({process.returncode}):\n{stdout}\n{stderr}")
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
    cpu = sum(
        float(m.group(1))
        for m in re.finditer(r"(?:User|System) time \(seconds\): ([\d.]+)", stderr)
    )
    return {
        "command": " ".join(command),
        "load": load,
        "wall": wall,
        "cpu": cpu,
        "time_max_rss": int(found.group(1)) * 1024 if found else 0,
        "tree_rss": sampler.peak_rss,
        "tree_pss": sampler.peak_pss,
        "stdout": " ".join(stdout.split()),
    }


_HEADER = (
    "| date | records | input MB | workers | load before | wall s | records/s | CPU s "
    "| max RSS, one process (time -v) | peak RSS, tree summed | peak PSS, tree summed |"
)


def _row(args: argparse.Namespace, size: int, result: dict) -> str:
    n, gb = args.records, 1024**3
    return (
        f"| {time.strftime('%Y-%m-%d %H:%M')} | {n:,} | {size / 1e6:.0f} | {args.workers} | "
        f"{result['load']:.1f} | {result['wall']:.0f} | {n / result['wall']:,.0f} | "
        f"{result['cpu']:.0f} | {result['time_max_rss'] / gb:.2f} GB | "
        f"{result['tree_rss'] / gb:.2f} GB | {result['tree_pss'] / gb:.2f} GB |"
    )


def _markdown(row: str, result: dict) -> str:
    """The results page: earlier runs' rows are kept, newest last."""
    earlier = []
    if RESULTS.exists():
        earlier = [
            line
            for line in RESULTS.read_text(encoding="utf-8").splitlines()
            if line.startswith("| 20")
        ]
    return "\n".join(
        [
            "# Scale benchmark: `peerscreen tag` on generated records",
            "",
            "`python benchmarks/scale.py [--records N]` (`make bench-scale`: 1,000,000 records):",
            "`peerscreen tag RECORDS.csv -o tagged.parquet --workers 2` under `/usr/bin/time -v`",
            f"on a {os.cpu_count()}-core machine shared with other work (the 1-minute load",
            "average before each run is shown: above 0.5, other work took CPU time from it).",
            "",
            _HEADER,
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            *earlier,
            row,
            "",
            "Target (issue 6): 1,000,000 records in at most 600 s and 2 GB peak RSS (stretch:",
            "180 s, 1.5 GB). Wall time includes starting Python, loading the model in each",
            "worker and reading the input; generating the input is not timed. CPU s is user +",
            "system time of all processes. `time -v` reports the largest single process; the",
            "tree is sampled every second: summed RSS counts libraries shared by the processes",
            "once per process (an upper bound), PSS counts them once.",
            "",
            f"Last run: `{result['command']}`: {result['stdout']}",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    parser.add_argument("--output", choices=("parquet", "csv"), default="parquet")
    parser.add_argument("--no-dedup", action="store_true", help="Pass --no-dedup to tag")
    parser.add_argument("--dir", type=Path, default=None, help="Keep files here (default: temp)")
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "default")
    parser.add_argument("--no-write", action="store_true", help="Do not update results/scale.md")
    args = parser.parse_args()
    folder = args.dir or Path(tempfile.mkdtemp(prefix="peerscreen-scale-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        source = folder / f"records-{args.records}.{args.format}"
        if not source.exists():
            started = time.perf_counter()
            generate(source, args.records)
            print(f"generated {source} in {time.perf_counter() - started:.0f} s")
        output = folder / f"tagged.{args.output}"
        result = run_tag(source, output, args.workers, args.model, not args.no_dedup)
        output.unlink(missing_ok=True)
        gb = 1024**3
        print(
            f"{args.records:,} records, {args.workers} workers: {result['wall']:.1f} s wall, "
            f"{args.records / result['wall']:,.0f} records/s, {result['cpu']:.0f} s CPU; max RSS "
            f"{result['time_max_rss'] / gb:.2f} GB (time -v, one process), peak of the tree "
            f"{result['tree_rss'] / gb:.2f} GB RSS / {result['tree_pss'] / gb:.2f} GB PSS"
        )
        if not args.no_write:
            row = _row(args, source.stat().st_size, result)
            RESULTS.write_text(_markdown(row, result), encoding="utf-8")
            print(f"wrote {RESULTS}")
    finally:
        if args.dir is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
