"""The arXiv taxonomy a subscriber chooses from, grouped by archive, with human names.

Only the main groups are listed; the codes are exactly arXiv's, so a paper's category
list can be matched against a subscriber's choice without translation.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Group:
    code: str
    name: str
    categories: tuple[tuple[str, str], ...]


GROUPS: tuple[Group, ...] = (
    Group(
        "cs",
        "Computer Science",
        (
            ("cs.AI", "Artificial Intelligence"),
            ("cs.AR", "Hardware Architecture"),
            ("cs.CC", "Computational Complexity"),
            ("cs.CE", "Computational Engineering, Finance, and Science"),
            ("cs.CG", "Computational Geometry"),
            ("cs.CL", "Computation and Language"),
            ("cs.CR", "Cryptography and Security"),
            ("cs.CV", "Computer Vision and Pattern Recognition"),
            ("cs.CY", "Computers and Society"),
            ("cs.DB", "Databases"),
            ("cs.DC", "Distributed, Parallel, and Cluster Computing"),
            ("cs.DL", "Digital Libraries"),
            ("cs.DM", "Discrete Mathematics"),
            ("cs.DS", "Data Structures and Algorithms"),
            ("cs.ET", "Emerging Technologies"),
            ("cs.FL", "Formal Languages and Automata Theory"),
            ("cs.GL", "General Literature"),
            ("cs.GR", "Graphics"),
            ("cs.GT", "Computer Science and Game Theory"),
            ("cs.HC", "Human-Computer Interaction"),
            ("cs.IR", "Information Retrieval"),
            ("cs.IT", "Information Theory"),
            ("cs.LG", "Machine Learning"),
            ("cs.LO", "Logic in Computer Science"),
            ("cs.MA", "Multiagent Systems"),
            ("cs.MM", "Multimedia"),
            ("cs.MS", "Mathematical Software"),
            ("cs.NA", "Numerical Analysis"),
            ("cs.NE", "Neural and Evolutionary Computing"),
            ("cs.NI", "Networking and Internet Architecture"),
            ("cs.OH", "Other Computer Science"),
            ("cs.OS", "Operating Systems"),
            ("cs.PF", "Performance"),
            ("cs.PL", "Programming Languages"),
            ("cs.RO", "Robotics"),
            ("cs.SC", "Symbolic Computation"),
            ("cs.SD", "Sound"),
            ("cs.SE", "Software Engineering"),
            ("cs.SI", "Social and Information Networks"),
            ("cs.SY", "Systems and Control"),
        ),
    ),
    Group(
        "stat",
        "Statistics",
        (
            ("stat.AP", "Applications"),
            ("stat.CO", "Computation"),
            ("stat.ME", "Methodology"),
            ("stat.ML", "Machine Learning"),
            ("stat.OT", "Other Statistics"),
            ("stat.TH", "Statistics Theory"),
        ),
    ),
    Group(
        "math",
        "Mathematics",
        (
            ("math.AC", "Commutative Algebra"),
            ("math.AG", "Algebraic Geometry"),
            ("math.AP", "Analysis of PDEs"),
            ("math.AT", "Algebraic Topology"),
            ("math.CA", "Classical Analysis and ODEs"),
            ("math.CO", "Combinatorics"),
            ("math.CT", "Category Theory"),
            ("math.CV", "Complex Variables"),
            ("math.DG", "Differential Geometry"),
            ("math.DS", "Dynamical Systems"),
            ("math.FA", "Functional Analysis"),
            ("math.GM", "General Mathematics"),
            ("math.GN", "General Topology"),
            ("math.GR", "Group Theory"),
            ("math.GT", "Geometric Topology"),
            ("math.HO", "History and Overview"),
            ("math.IT", "Information Theory"),
            ("math.KT", "K-Theory and Homology"),
            ("math.LO", "Logic"),
            ("math.MG", "Metric Geometry"),
            ("math.MP", "Mathematical Physics"),
            ("math.NA", "Numerical Analysis"),
            ("math.NT", "Number Theory"),
            ("math.OA", "Operator Algebras"),
            ("math.OC", "Optimization and Control"),
            ("math.PR", "Probability"),
            ("math.QA", "Quantum Algebra"),
            ("math.RA", "Rings and Algebras"),
            ("math.RT", "Representation Theory"),
            ("math.SG", "Symplectic Geometry"),
            ("math.SP", "Spectral Theory"),
            ("math.ST", "Statistics Theory"),
        ),
    ),
    Group(
        "eess",
        "Electrical Engineering and Systems Science",
        (
            ("eess.AS", "Audio and Speech Processing"),
            ("eess.IV", "Image and Video Processing"),
            ("eess.SP", "Signal Processing"),
            ("eess.SY", "Systems and Control"),
        ),
    ),
    Group(
        "physics",
        "Physics",
        (
            ("astro-ph.CO", "Cosmology and Nongalactic Astrophysics"),
            ("astro-ph.EP", "Earth and Planetary Astrophysics"),
            ("astro-ph.GA", "Astrophysics of Galaxies"),
            ("astro-ph.HE", "High Energy Astrophysical Phenomena"),
            ("astro-ph.IM", "Instrumentation and Methods for Astrophysics"),
            ("astro-ph.SR", "Solar and Stellar Astrophysics"),
            ("cond-mat.dis-nn", "Disordered Systems and Neural Networks"),
            ("cond-mat.mes-hall", "Mesoscale and Nanoscale Physics"),
            ("cond-mat.mtrl-sci", "Materials Science"),
            ("cond-mat.soft", "Soft Condensed Matter"),
            ("cond-mat.stat-mech", "Statistical Mechanics"),
            ("cond-mat.str-el", "Strongly Correlated Electrons"),
            ("cond-mat.supr-con", "Superconductivity"),
            ("gr-qc", "General Relativity and Quantum Cosmology"),
            ("hep-ex", "High Energy Physics - Experiment"),
            ("hep-lat", "High Energy Physics - Lattice"),
            ("hep-ph", "High Energy Physics - Phenomenology"),
            ("hep-th", "High Energy Physics - Theory"),
            ("math-ph", "Mathematical Physics"),
            ("nlin.AO", "Adaptation and Self-Organizing Systems"),
            ("nlin.CD", "Chaotic Dynamics"),
            ("nucl-ex", "Nuclear Experiment"),
            ("nucl-th", "Nuclear Theory"),
            ("physics.app-ph", "Applied Physics"),
            ("physics.bio-ph", "Biological Physics"),
            ("physics.chem-ph", "Chemical Physics"),
            ("physics.comp-ph", "Computational Physics"),
            ("physics.data-an", "Data Analysis, Statistics and Probability"),
            ("physics.flu-dyn", "Fluid Dynamics"),
            ("physics.med-ph", "Medical Physics"),
            ("physics.optics", "Optics"),
            ("physics.soc-ph", "Physics and Society"),
            ("quant-ph", "Quantum Physics"),
        ),
    ),
    Group(
        "q-bio",
        "Quantitative Biology",
        (
            ("q-bio.BM", "Biomolecules"),
            ("q-bio.CB", "Cell Behavior"),
            ("q-bio.GN", "Genomics"),
            ("q-bio.MN", "Molecular Networks"),
            ("q-bio.NC", "Neurons and Cognition"),
            ("q-bio.OT", "Other Quantitative Biology"),
            ("q-bio.PE", "Populations and Evolution"),
            ("q-bio.QM", "Quantitative Methods"),
            ("q-bio.SC", "Subcellular Processes"),
            ("q-bio.TO", "Tissues and Organs"),
        ),
    ),
    Group(
        "q-fin",
        "Quantitative Finance",
        (
            ("q-fin.CP", "Computational Finance"),
            ("q-fin.EC", "Economics"),
            ("q-fin.GN", "General Finance"),
            ("q-fin.MF", "Mathematical Finance"),
            ("q-fin.PM", "Portfolio Management"),
            ("q-fin.PR", "Pricing of Securities"),
            ("q-fin.RM", "Risk Management"),
            ("q-fin.ST", "Statistical Finance"),
            ("q-fin.TR", "Trading and Market Microstructure"),
        ),
    ),
    Group(
        "econ",
        "Economics",
        (
            ("econ.EM", "Econometrics"),
            ("econ.GN", "General Economics"),
            ("econ.TH", "Theoretical Economics"),
        ),
    ),
)

NAMES: dict[str, str] = {code: name for g in GROUPS for code, name in g.categories}

# Offered as first topics on the sign-up form; the rest wait on the preferences page.
POPULAR: tuple[str, ...] = (
    "cs.LG", "cs.CL", "cs.CV", "cs.AI", "stat.ML", "cs.RO", "cs.CR", "q-bio.NC",
)  # fmt: skip


def is_known(code: str) -> bool:
    return code in NAMES


def label(code: str) -> str:
    """ "cs.CL — Computation and Language", or the bare code if we do not know it."""
    name = NAMES.get(code)
    return f"{code} — {name}" if name else code


def choices() -> list[tuple[str, str]]:
    return [(code, label(code)) for code in NAMES]


def popular_choices() -> list[tuple[str, str]]:
    return [(code, label(code)) for code in POPULAR]
