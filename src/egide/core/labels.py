"""The label vocabulary of Égide, in one import.

- `Policy`, `Level`, `Category`, `TagType`: policies as data (`egide.core.policy`).
- `Label`, `Clearance`, `Decision`, `join`: the lattice (`egide.core.lattice`).
- `PolicyRegistry`: loaded policies, parsing and formatting markings
  (`egide.core.markings`).
"""

from egide.core.lattice import Clearance, Decision, Label, join
from egide.core.markings import PolicyRegistry
from egide.core.policy import Category, Level, Policy, TagType

__all__ = [
    "Category",
    "Clearance",
    "Decision",
    "Label",
    "Level",
    "Policy",
    "PolicyRegistry",
    "TagType",
    "join",
]
