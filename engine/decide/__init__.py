"""Deciding: compiled programs, decisions and their JSON form, explanations, batches, progress."""
