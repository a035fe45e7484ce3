"""Orders and cases: sig parsing, name resolution against the pack, phase derivation."""
