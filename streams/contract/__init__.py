"""The data contract of DOMAIN.md: vocabulary, acceptance (§3) and upcasting (§2)."""
