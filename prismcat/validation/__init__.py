"""Validation: the ladder of finite-size problems, the runner and cache, the checker API, the
statistics (extrapolation, rates, power) and the one policy room for their numbers."""
