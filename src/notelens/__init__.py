"""NoteLens: read photographed notes, receipts, captchas and anything else."""
