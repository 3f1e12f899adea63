"""Signed requests into the app live in the package (``python -m bot demo`` sends them too)."""

from bot.demo.signed import Reply, SlackSender, booking_values, repeat_values, sign

__all__ = ["Reply", "SlackSender", "booking_values", "repeat_values", "sign"]
