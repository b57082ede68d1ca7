"""servicetags: load, index, look up, diff and download Azure service-tag files. Standalone (no nsgcheck import)."""
