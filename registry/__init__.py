"""The registry: its sans-IO core (core/) and the adapter that runs it (adapter/)."""
