"""The registry's adapter: its server, stores, console, and the service of several."""
