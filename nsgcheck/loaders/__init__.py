"""Input formats -> the neutral model (`nsgcheck.model.Estate`). No knowledge of ASR or the engine."""
