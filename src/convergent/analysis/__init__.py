"""Pure analyses: arrays in, arrays out; no files (those stay in io/activations/cli)."""
