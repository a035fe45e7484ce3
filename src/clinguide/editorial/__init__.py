"""Editorial review: proposals, reviews, approved content versions and an append-only audit log.

Only approved, dated content reaches users: the served knowledge base is the shipped pack
overlaid with the approved versions in this store (see ``overlay``).
"""

from __future__ import annotations
