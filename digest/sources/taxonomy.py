"""arXiv's whole category taxonomy (https://arxiv.org/category_taxonomy), to check a
category given on the command line or in the sources admin before anything is pulled.

arXiv answers a feed or a query of a category it does not have with an empty listing,
not an error, so a typo (`cs.XX`, `cs.lg`) would pull nothing, quietly, every time.
Subscribers choose from a shorter list (`subscriptions.categories`, a test keeps it
inside this one).
"""

from __future__ import annotations

from collections.abc import Iterable

TAXONOMY_URL = "https://arxiv.org/category_taxonomy"

_SUBJECT_CLASSES = {
    "cs": "AI AR CC CE CG CL CR CV CY DB DC DL DM DS ET FL GL GR GT HC IR IT LG LO MA MM MS "
    "NA NE NI OH OS PF PL RO SC SD SE SI SY",
    "econ": "EM GN TH",
    "eess": "AS IV SP SY",
    "math": "AC AG AP AT CA CO CT CV DG DS FA GM GN GR GT HO IT KT LO MG MP NA NT OA OC PR "
    "QA RA RT SG SP ST",
    "astro-ph": "CO EP GA HE IM SR",
    "cond-mat": "dis-nn mes-hall mtrl-sci other quant-gas soft stat-mech str-el supr-con",
    "nlin": "AO CD CG PS SI",
    "physics": "acc-ph ao-ph app-ph atm-clus atom-ph bio-ph chem-ph class-ph comp-ph data-an "
    "ed-ph flu-dyn gen-ph geo-ph hist-ph ins-det med-ph optics plasm-ph pop-ph soc-ph space-ph",
    "q-bio": "BM CB GN MN NC OT PE QM SC TO",
    "q-fin": "CP EC GN MF PM PR RM ST TR",
    "stat": "AP CO ME ML OT TH",
}
# Archives without subject classes, and the old archives that older papers still carry.
_UNDIVIDED = "gr-qc hep-ex hep-lat hep-ph hep-th math-ph nucl-ex nucl-th quant-ph"
_RETIRED = (
    "acc-phys adap-org alg-geom ao-sci atom-ph bayes-an chao-dyn chem-ph cmp-lg comp-gas "
    "dg-ga funct-an mtrl-th patt-sol plasm-ph q-alg solv-int supr-con"
)

# An archive alone (`cs`, `astro-ph`) is a feed of all its categories.
CATEGORIES: frozenset[str] = frozenset(
    [f"{archive}.{code}" for archive, codes in _SUBJECT_CLASSES.items() for code in codes.split()]
    + list(_SUBJECT_CLASSES)
    + _UNDIVIDED.split()
    + _RETIRED.split()
)
_BY_LOWER_CASE = {code.lower(): code for code in CATEGORIES}


def unknown_categories(codes: Iterable[str]) -> str:
    """ "" if arXiv has every one of `codes`, else one line naming those it has not, with
    the spelling meant when only the case is wrong."""
    unknown = [code for code in codes if code not in CATEGORIES]
    if not unknown:
        return ""
    named = [
        f"{code} (did you mean {_BY_LOWER_CASE[code.lower()]}?)"
        if code.lower() in _BY_LOWER_CASE
        else code
        for code in unknown
    ]
    return f"not arXiv categories: {', '.join(named)} (the list: {TAXONOMY_URL})"
