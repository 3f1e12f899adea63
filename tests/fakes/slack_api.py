"""The fake Slack Web API lives in the package (``python -m bot demo`` runs on it too)."""

from bot.demo.fake_slack import BOT_ID, BOT_USER_ID, TEAM_ID, Call, FakeSlackApi, running_fake_slack

__all__ = ["BOT_ID", "BOT_USER_ID", "TEAM_ID", "Call", "FakeSlackApi", "running_fake_slack"]
