"""Feed adapters: one module per agency over a shared HTTP client.

Each feed is declared once in ``pipeline.feed_registry``, which names its adapter module here
(``orr``, ``ice``, ``removals``, ``dna``: ``fetch`` and ``view`` each); ``fetch`` pulls a
configured feed's pages through its adapter (``fetch_feed``); ``http`` is the shared client
(``FeedClient``); ``validate`` splits a page into valid and quarantined records.
"""
