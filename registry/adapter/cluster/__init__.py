"""Several registries, one service (docs/SCALING.md): one decides (keeper.py), the others
relay to it (follower.py), and its state is in NATS JetStream (store.py)."""
