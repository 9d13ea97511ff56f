"""Parameters of the example generator: genome layout, tasks, site and peak counts, variant plans.

Changing any of them changes the whole data set for a given seed (docs/example-data.md).
"""

CHROMOSOMES = (("chr1", 2_400_000), ("chr2", 1_000_000), ("chr3", 1_000_000))
#: N gaps (0-based half-open): 10 kb at every chromosome start, one inside chr1 and chr2
N_GAPS = {
    "chr1": ((0, 10_000), (1_200_000, 1_250_000)),
    "chr2": ((0, 10_000), (600_000, 620_000)),
    "chr3": ((0, 10_000),),
}
TASKS = ("CTCF", "GATA1", "GATA1_TAL1", "FOXA1", "AP1")
#: planted factors -> JASPAR IDs (the keys are the names used inside the generator)
FACTORS = {
    "CTCF": "MA0139.1",
    "GATA1": "MA0035.4",
    "TAL1": "MA0091.1",
    "FOXA1": "MA0148.4",
    "AP1": "MA0099.3",
}
#: tasks driven by one motif; the task and its factor share a name
SINGLE_TASKS = ("CTCF", "GATA1", "FOXA1", "AP1")
COMPOSITE_TASK = "GATA1_TAL1"

#: a window is a motif match when its log-odds >= MATCH_FRACTION * the motif's maximum
MATCH_FRACTION = 0.75
#: destroyed / broken instances score <= WEAK_FRACTION * maximum (what random DNA reaches)
WEAK_FRACTION = 0.5

# Enough sites (about 400 per task on the training chromosome) for small models to learn the
# short FOXA1 and AP-1 motifs within the example's time budget.
BOUND_SITES = {"CTCF": 640, "GATA1": 240, "FOXA1": 960, "AP1": 960}  # GATA1 alone
COMPOSITE_SITES = 600  # GATA1 + TAL1 together: peaks of GATA1 and GATA1_TAL1
COMPOSITE_DISTANCE = (20, 60)  # centre-to-centre distance of the two instances (bp)
UNBOUND_FRACTION = 0.10  # extra intact instances without a peak, per bound instance
DECOY_SITES = 160  # TAL1::TCF3 alone: no peak in any task
NOISE_PEAK_FRACTION = 0.03  # peaks without a motif, per task
ARTEFACTS = {"chr1": 2, "chr2": 1, "chr3": 1}
ARTEFACT_LENGTH = (2_000, 5_000)
DESERTS = {"chr1": 3, "chr2": 1, "chr3": 1}  # regions kept free of sites, for neutral SNVs
DESERT_LENGTH = 25_000
NEUTRAL_SNVS = 200
NEUTRAL_MIN_DISTANCE = 2_000  # from any site, peak or blacklist region
NEUTRAL_SPACING = 200

SITE_SPACING = 500  # minimum centre-to-centre distance between site groups
SITE_N_CLEARANCE = 500  # no N within this distance of a site centre (peaks never reach N)
SITE_REPEAT_CLEARANCE = 70  # no soft-masked base within this distance of a site centre
PEAK_WIDTH = (150, 400)
SUMMIT_SD = 10.0
SUMMIT_MAX_SHIFT = 25
SUMMIT_FRACTION = (0.35, 0.65)  # summit position inside the peak, as a fraction of its width

#: variants per task: (kind, count)
DESTROY_PLAN = (("mnv", 1), ("deletion", 8), ("insertion", 6), ("snv", 30))
CREATE_PLAN = (("mnv", 1), ("deletion", 4), ("insertion", 8), ("snv", 25))
MULTIALLELIC_TASK = "CTCF"  # one destroy SNV record of this task carries two ALT alleles

GC_RANGE = (0.35, 0.60)
ISOCHORE_LENGTH = (20_000, 100_000)
CPG_LOSS = 0.75  # fraction of CG dinucleotides turned into TG or CA
SINE_PER_MB, LINE_PER_MB, SIMPLE_PER_MB = 160, 36, 110
SIMPLE_UNITS = ("CA", "TG", "A", "T", "GA", "TTC", "GGAA", "CAG", "AAT", "TATG")

GENOME_NAME = "genome.fa"
OUTPUT_FILES = (
    GENOME_NAME,
    GENOME_NAME + ".fai",
    *(f"peaks/{t}.narrowPeak" for t in TASKS),
    "blacklist.bed",
    "motif_sites.bed",
    "variants.vcf.gz",
    "variants.vcf.gz.tbi",
    "variants_truth.tsv",
    "signal/CTCF.bw",
    "sequence_table.tsv",
    "summary.json",
)
# The signal track (a ChIP-seq-like coverage of the bound CTCF sites; docs/multimodal.md):
# a Gaussian bump per bound instance, height = SIGNAL_SCALE x (1 + 9 x the motif match's
# relative strength (score - threshold) / (max - threshold)) x a log-normal factor (drawn
# from its own stream, so the other files do not depend on it).
SIGNAL_TASK = "CTCF"
SIGNAL_SCALE, SIGNAL_SD, SIGNAL_HALF_WIDTH, SIGNAL_NOISE = 4.0, 60.0, 180, 0.2
# The sequence table (docs/sequence-tables.md, "The example's table"): 200 bp sequences cut
# from the genome, labelled from the planted instances they hold. Per task, up to
# TABLE_PER_TASK windows centred on its bound or composite groups; up to TABLE_HARD unbound /
# decoy groups (a motif without binding: hard negatives); TABLE_BACKGROUND windows holding no
# planted instance. `activity`, an MPRA-like readout, is the sum over the bound instances held
# of (1 + relative motif strength), plus normal noise of sd TABLE_ACTIVITY_NOISE.
TABLE_LENGTH, TABLE_PER_TASK, TABLE_HARD, TABLE_BACKGROUND, TABLE_ACTIVITY_NOISE = 200, 300, 340, 1200, 0.25
# Aligned reads (docs/reads.md, "The example's BAM"): READS_COUNT single-end reads
# (deepcis.simulate.reads, its defaults: 50 bp reads of ~200 bp fragments, half centred on the
# bound SIGNAL_TASK instances, where the signal track peaks, with a 30 bp sd jitter, half
# uniform; 10% MAPQ < 10, 5% flagged duplicates), drawn from their own stream and carrying the
# genome's bases; reads over an N are left out. The BAM and its index are left out of
# summary.json's checksums (READS_FILES): the other files are byte for byte those of versions
# without the BAM, and BAM bytes depend on the zlib build behind pysam.
READS_COUNT = 100_000
READS_FILES = ("reads/CTCF.bam", "reads/CTCF.bam.bai")
TRUTH_COLUMNS = (
    "chrom", "pos", "id", "ref", "alt", "kind", "effect", "motif_id", "tasks",
    "expected_sign", "site_start", "site_end",
)  # fmt: skip

RNG_STREAMS = ("layout", "background", "repeats", "sites", "peaks", "variants")
SEG_PAD = 40  # flank scanned around a site when checking for stray matches
