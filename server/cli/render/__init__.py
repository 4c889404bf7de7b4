"""Readable terminal output of replies: ``slots`` (slots and checks), ``bookings``."""
