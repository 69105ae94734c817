"""``funnel notify``: deliver the reminders of DOMAIN.md §10 (topic ``project-reminders``) to DingTalk and WeCom
group robots and by email, by the routing rules of a TOML file, each reminder once per recipient and channel.

``routing`` reads the config and routes a reminder; ``digest`` groups what is due into messages; ``channels``
sends them; ``ledger`` keeps what was delivered (a compacted topic); ``notifier`` is the consumer loop.
"""
