"""Motif discovery from attributions: TF-MoDISco (modisco-lite), patterns matched to JASPAR.

    patterns = discover(one_hot, hypothetical, task="CTCF", **settings)   # modisco-lite patterns
    table, matches, motifs = pattern_tables(patterns, database)            # Tomtom, BH q-values

TF-MoDISco (Shrikumar et al. 2018; the maintained `modisco-lite` package) finds seqlets (spans
of high contribution) in the actual contributions, clusters them on the hypothetical
contributions and aggregates each cluster into a pattern: a contribution weight matrix (CWM),
its hypothetical CWM and the position probability matrix (PPM) of its seqlets. Patterns of
positive contributions are `pos_patterns` (what raises the prediction), of negative ones
`neg_patterns`.

Matching: each pattern is trimmed to the positions whose summed |CWM| is at least
`trim_threshold` (0.3) of its maximum (as modisco-lite's own report does), then its flanks
below 0.3 bits of information are trimmed too (as the filter motifs are); a pattern whose
trimmed columns average at least 0.3 bits goes, as counts (PPM x seqlets), to Tomtom
(memelite, deepcis.filter_motifs.match_motifs) against the JASPAR database, with
Benjamini-Hochberg q-values over the database. Near-uniform patterns are listed, not matched.

Files (rule `modisco_motifs`, docs/interpretation.md): `modisco_patterns.tsv` (one row per
pattern: task, pattern, sign, seqlets, trimmed width, consensus, best match and q),
`modisco_matches.tsv` (every match at q <= max_q), `modisco_seqlets.tsv` (every seqlet in genome
coordinates), `modisco_motifs.meme` (the trimmed PPMs, MEME format), `modisco_patterns.png`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .io_utils import atomic_path

log = logging.getLogger("deepcis.modisco")

PATTERN_COLUMNS = ["task", "pattern", "sign", "seqlets", "width", "trimmed_start", "trimmed_end", "mean_ic", "matched",
                   "consensus", "best_match_id", "best_match_name", "best_q_value"]  # fmt: skip
# Patterns are trimmed to flanks of at least MIN_IC bits and matched only when their mean
# information content reaches it: long near-uniform patterns (seqlet clusters without a motif)
# otherwise get small Tomtom p-values against long, low-information JASPAR matrices (memelite
# 0.5.0 gave 40 bp patterns of 0.1 bits per column q = 1e-5 against MA1978.2 ZNF354A).
MIN_IC = 0.3


@dataclass
class Pattern:
    """One MoDISco pattern of one task, with its seqlets (window row, start, end, reverse)."""

    task: str
    name: str  # e.g. pos_patterns.pattern_0
    sign: str  # "positive" or "negative"
    ppm: np.ndarray  # (W, 4)
    cwm: np.ndarray  # (W, 4)
    hcwm: np.ndarray  # (W, 4)
    seqlets: list = field(default_factory=list)  # (window row, start, end, reverse)

    @property
    def id(self) -> str:
        return f"{self.task}.{self.name}"

    def trimmed(self, threshold: float = 0.3) -> tuple[int, int]:
        """(start, end) of the positions whose summed |CWM| reaches `threshold` x the maximum."""
        score = np.abs(self.cwm).sum(axis=1)
        keep = np.flatnonzero(score >= threshold * score.max()) if score.max() > 0 else np.arange(len(score))
        return int(keep[0]), int(keep[-1]) + 1


def discover(one_hot: np.ndarray, hypothetical: np.ndarray, task: str, sliding_window_size: int = 21,
             flank_size: int = 10, max_seqlets: int = 2000, min_metacluster_size: int = 50,
             final_min_cluster_size: int = 20, n_leiden_runs: int = 8, target_seqlet_fdr: float = 0.2
             ) -> list[Pattern]:  # fmt: skip
    """TF-MoDISco patterns of one task from one-hot windows and hypothetical contributions,
    both (N, L, 4). The actual contributions are hypothetical x one-hot."""
    from modiscolite.tfmodisco import TFMoDISco

    x = np.asarray(one_hot, np.float32)
    hyp = np.asarray(hypothetical, np.float32)
    if len(x) == 0:
        return []
    if x.shape[1] < 2 * (sliding_window_size + flank_size):
        raise ValueError(f"windows of {x.shape[1]} bp are too short for MoDISco's {sliding_window_size} bp sliding "
                         f"window with {flank_size} bp flanks")  # fmt: skip
    pos, neg = TFMoDISco(one_hot=x, hypothetical_contribs=hyp, sliding_window_size=sliding_window_size,
                         flank_size=flank_size, max_seqlets_per_metacluster=max_seqlets,
                         min_metacluster_size=min_metacluster_size, final_min_cluster_size=final_min_cluster_size,
                         n_leiden_runs=n_leiden_runs, target_seqlet_fdr=target_seqlet_fdr, verbose=False)  # fmt: skip
    out = []
    for group, sign, patterns in (("pos_patterns", "positive", pos), ("neg_patterns", "negative", neg)):
        for k, p in enumerate(patterns or []):
            seqlets = [(int(s.example_idx), int(s.start), int(s.end), bool(s.is_revcomp)) for s in p.seqlets]
            out.append(Pattern(task, f"{group}.pattern_{k}", sign, np.asarray(p.sequence, np.float64),
                               np.asarray(p.contrib_scores, np.float64), np.asarray(p.hypothetical_contribs, np.float64),
                               seqlets))  # fmt: skip
    log.info("%s: %d patterns (%d positive) from %d windows", task, len(out), sum(p.sign == "positive" for p in out), len(x))
    return out


def pattern_tables(patterns: list[Pattern], database, max_q: float = 0.05, top: int = 5, trim_threshold: float = 0.3,
                   min_ic: float = MIN_IC) -> tuple[pd.DataFrame, pd.DataFrame, list]:  # fmt: skip
    """Per-pattern summary, the matches (q <= max_q, `top` per pattern), and the trimmed
    informative patterns as count matrices (deepcis.filter_motifs.NamedMatrix, id =
    task.pattern), which are what is matched and written to the MEME file."""
    from .filter_motifs import NamedMatrix, information_content, match_motifs, trim

    queries, rows = [], []
    for p in patterns:
        lo, hi = p.trimmed(trim_threshold)
        counts = p.ppm[lo:hi] * max(len(p.seqlets), 1)
        a, b = trim(counts, min_ic)  # then the flanks below min_ic bits
        lo, hi, counts = lo + a, lo + b, counts[a:b]
        ic = float(information_content(counts).mean())
        if ic >= min_ic:
            queries.append(NamedMatrix(p.id, p.id, counts))
        rows.append([p.task, p.name, p.sign, len(p.seqlets), len(p.ppm), lo, hi, round(ic, 3), ic >= min_ic,
                     "".join("ACGT"[k] for k in np.argmax(counts, axis=1))])  # fmt: skip
    matches = match_motifs(queries, database, max_q=max_q, top=top)
    table = pd.DataFrame(rows, columns=PATTERN_COLUMNS[:10])
    best = matches[matches["rank"] == 1].set_index("query") if len(matches) else pd.DataFrame()
    ids = table["task"] + "." + table["pattern"]
    table["best_match_id"] = ids.map(best["target_id"]).fillna("") if len(best) else ""
    table["best_match_name"] = ids.map(best["target_name"]).fillna("") if len(best) else ""
    table["best_q_value"] = ids.map(best["q_value"]) if len(best) else np.nan
    return table, matches, queries


def seqlet_table(patterns: list[Pattern], windows: dict[str, dict]) -> pd.DataFrame:
    """Every seqlet of every pattern in genome coordinates (0-based half-open; strand - for a
    seqlet MoDISco aligned reverse-complemented). `windows[task]` holds chrom and start."""
    rows = []
    for p in patterns:
        w = windows[p.task]
        for row, start, end, reverse in p.seqlets:
            origin = int(w["start"][row])
            rows.append([w["chrom"][row], origin + start, origin + end, p.task, p.name, "-" if reverse else "+"])
    return pd.DataFrame(rows, columns=["chrom", "start", "end", "task", "pattern", "strand"])


def write_meme(matrices, path, background=(0.25, 0.25, 0.25, 0.25)):
    """Count matrices (NamedMatrix) as MEME minimal-format letter-probability matrices."""
    with atomic_path(path) as tmp:
        with open(tmp, "w") as handle:
            handle.write("MEME version 5\n\nALPHABET= ACGT\n\nstrands: + -\n\n")
            handle.write("Background letter frequencies\n" + " ".join(f"{b} {f:.4f}" for b, f in zip("ACGT", background))
                         + "\n\n")  # fmt: skip
            for m in matrices:
                counts = np.asarray(m.counts, np.float64)
                probs = m.probabilities()
                handle.write(f"MOTIF {m.id}\nletter-probability matrix: alength= 4 w= {len(probs)} "
                             f"nsites= {int(round(counts.sum(axis=1).max()))} E= 0\n")  # fmt: skip
                for row in probs:
                    handle.write(" " + "  ".join(f"{v:.6f}" for v in row) + "\n")
                handle.write("\n")


def read_meme(path) -> list:
    """Motifs of a MEME minimal-format file as NamedMatrix probability matrices (id = MOTIF name)."""
    from .filter_motifs import NamedMatrix

    motifs, name, rows = [], None, []
    with open(path) as handle:
        for line in handle:
            fields = line.split()
            if line.startswith("MOTIF"):
                if name is not None and rows:
                    motifs.append(NamedMatrix(name, name, np.array(rows)))
                name, rows = fields[1], []
            elif name is not None and len(fields) == 4 and all(_is_float(v) for v in fields):
                rows.append([float(v) for v in fields])
    if name is not None and rows:
        motifs.append(NamedMatrix(name, name, np.array(rows)))
    return motifs


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def discover_motifs(contributions_h5, database, patterns_tsv, matches_tsv, seqlets_tsv, meme_path, figure_png,
                    tasks: list[str] | None = None, max_q: float = 0.05, top: int = 5, trim_threshold: float = 0.3,
                    logos: int = 12, **settings) -> pd.DataFrame:  # fmt: skip
    """MoDISco on every task of a contributions file (deepcis.contributions), matched to a
    database; writes the tables, the MEME file and the logo figure. Returns the pattern table."""
    import h5py

    from .contributions import read_contributions
    from .interpret_plots import pattern_figure

    with h5py.File(contributions_h5, "r", locking=False) as f:
        available = list(f.keys())
    chosen = [t for t in (tasks or available) if t in available]
    patterns, windows = [], {}
    for task in chosen:
        data = read_contributions(contributions_h5, task)
        windows[task] = data
        if data["method"] != "deeplift_shap":
            log.warning("%s: the attributions are %s (the model has layers DeepLIFT cannot handle exactly)", task,
                        data["method"])  # fmt: skip
        patterns += discover(data["x"], data["hypothetical"], task, **settings)
    table, matches, motifs = pattern_tables(patterns, database, max_q, top, trim_threshold)
    for frame, path in ((table, patterns_tsv), (matches, matches_tsv), (seqlet_table(patterns, windows), seqlets_tsv)):
        with atomic_path(path) as tmp:
            frame.to_csv(tmp, sep="\t", index=False)
    write_meme(motifs, meme_path)
    shown = table.assign(order=table["best_q_value"].fillna(2.0)).sort_values(["order", "seqlets"], ascending=[True, False])
    by_id = {p.id: p for p in patterns}
    panels = []
    for r in shown.head(logos).itertuples():
        p = by_id[f"{r.task}.{r.pattern}"]
        match = f"{r.best_match_name} ({r.best_match_id}), q={r.best_q_value:.1e}" if r.best_match_id else "no match"
        panels.append({"cwm": p.cwm[r.trimmed_start:r.trimmed_end], "title": f"{p.id}: {len(p.seqlets)} seqlets; {match}"})
    pattern_figure(panels, figure_png)
    return table
