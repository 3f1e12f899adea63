"""Words the user reads outside notifications: help, replies, refusals."""

from __future__ import annotations

from bot.views.mrkdwn import escape

HELP = """*Book a meeting room with* `/book`
• `/book` – open the booking form
• `/book 102 2026-12-01 09:00-10:00 Weekly sync` – book in one line (times in your Slack time zone)
• `/book list` – your upcoming bookings, with Cancel buttons
• `/book cancel 42` – cancel booking #42
• `/book rooms` – the rooms (admins can add and edit them there)
• `/book help` – this help
Every booking is a request until an admin approves it; you get a DM and an email at each step."""

ONE_LINE_USAGE = (
    "Use `/book <room> <YYYY-MM-DD> <HH:MM>-<HH:MM> [title]`, "
    "for example `/book 102 2026-12-01 09:00-10:00 Weekly sync`."
)

NOT_ADMIN_DECIDE = "Only admins can approve or deny bookings. Nothing was changed."
NOT_ADMIN_ROOMS = "Only admins can add or edit rooms."
NO_ROOMS = "There are no rooms to book yet. An admin can add one with `/book rooms`."
OOPS = (
    "Sorry, something went wrong on our side and nothing was changed. "
    "Please try again in a moment; the error was logged (reference {ref})."
)


def unknown_subcommand(word: str) -> str:
    return f"I don't know `/book {escape(word)}`.\n\n{HELP}"
