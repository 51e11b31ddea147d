"""Storage interfaces and their local implementations."""
