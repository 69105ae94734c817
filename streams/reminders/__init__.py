"""Reminders (DOMAIN.md §10), the imperative shell: read the log as it stands, compute a day's reminders with the
one core (:func:`streams.core.reminders.reminders_for`) and write them to the topic ``project-reminders``."""
