"""Several registries, one service: its state in NATS JetStream (store.py), one registry
deciding (keeper.py) and the others relaying to it (follower.py). docs/SCALING.md says how to run
one."""
