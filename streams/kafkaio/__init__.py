"""Kafka I/O: the local broker, topic management and producing. The imperative shell."""
