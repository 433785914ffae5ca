"""Feed adapters: one module per agency over a shared HTTP client, declared in ``registry``.

``registry`` declares every feed once (name, adapter, parser, record type, incremental or not);
``fetch`` pulls a configured feed's pages through its adapter (``fetch_feed``); ``http`` is the
shared client (``FeedClient``); ``validate`` splits a page into valid and quarantined records.
This package's face imports nothing, so that the settings can read the registry's names.
"""
