"""clinguide: offline clinical decision support."""
