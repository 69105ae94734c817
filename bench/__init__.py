"""Benchmarks: figures printed and recorded under bench/results/, never asserted in tests."""
