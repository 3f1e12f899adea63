"""The delivery wing: the notice contract, the outbox, the dispatcher and the senders.

Booking commands write outbox rows (through :mod:`bot.services`) in their own transaction; this
package is the only code that delivers them to Slack or by email. Importing the package imports
nothing else: the service layer uses :mod:`bot.notifications.notice` alone.
"""
