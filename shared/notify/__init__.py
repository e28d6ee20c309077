"""Notifications: CloudEvents to Warden's Event Grid topic and Adaptive Cards to Teams.

- ``messages``: ``Notification`` (type, subject, data, card) and the builders for
  ``Warden.Incident.Opened``, ``Warden.Approval.*`` and ``Warden.Step.Completed``.
- ``escape``: escaping of attacker-controlled alert text for Adaptive Card markdown.
- ``channels``: the ``Channel`` port, the Event Grid and Teams adapters, an in-memory fake, and
  ``deliver`` — bounded retries, one status per channel, never raises (a failed notification
  must never block containment).
- ``owners``: who to tell about a resource (owner tags, then policy fallbacks).

Keys, tokens and webhook URLs never appear in a message, a status or a log line.
"""
